using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Orleans;
using TrainedModelsOrleans.Api.Cat;
using TrainedModelsOrleans.Api.Http;
using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.ModelStore;
using TrainedModelsOrleans.Grains.Models;

namespace TrainedModelsOrleans.Api.Endpoints;

/// <summary>GET _cat/ml/trained_models[/&lt;model_id&gt;]: the columns of ES's RestCatTrainedModelsAction.</summary>
public static class CatEndpoints
{
    /// <summary>RestCatTrainedModelsAction.getTableWithHeader: names, aliases, descriptions, default columns, alignment.</summary>
    public static readonly IReadOnlyList<CatColumn> TrainedModelColumns =
    [
        new("id", "the trained model id"),
        new("created_by", "who created the model", ShownByDefault: false, RightAligned: true, "c", "createdBy"),
        new("heap_size", "the estimated heap size to keep the model in memory", true, false, "hs", "modelHeapSize"),
        new("operations", "the estimated number of operations to use the model", true, false, "o", "modelOperations"),
        new("license", "The license level of the model", false, false, "l"),
        new("create_time", "The time the model was created", true, false, "ct"),
        new("version", "The version of Elasticsearch when the model was created", false, false, "v"),
        new("description", "The model description", false, false, "d"),
        new("type", "The model type"),
        new("ingest.pipelines", "The number of pipelines referencing the model", true, false, "ip", "ingestPipelines"),
        new("ingest.count", "The total number of docs processed by the model", false, false, "ic", "ingestCount"),
        new("ingest.time", "The total time spent processing docs with this model", false, false, "it", "ingestTime"),
        new("ingest.current", "The total documents currently being handled by the model", false, false, "icurr", "ingestCurrent"),
        new("ingest.failed", "The total count of failed ingest attempts with this model", false, false, "if", "ingestFailed"),
        new("data_frame.id", "The data frame analytics config id that created the model (if still available)", true, false, "dfid", "dataFrameAnalytics"),
        new("data_frame.create_time", "The time the data frame analytics config was created", false, false, "dft", "dataFrameAnalyticsTime"),
        new("data_frame.source_index", "The source index used to train in the data frame analysis", false, false, "dfsi", "dataFrameAnalyticsSrcIndex"),
        new("data_frame.analysis", "The analysis used by the data frame to build the model", false, false, "dfa", "dataFrameAnalyticsAnalysis"),
    ];

    public static IEndpointRouteBuilder MapCatEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/_cat/ml/trained_models", (HttpContext context, IGrainFactory grains) => TrainedModelsAsync(null, context, grains));
        app.MapGet("/_cat/ml/trained_models/{model_id}", (string model_id, HttpContext context, IGrainFactory grains) =>
            TrainedModelsAsync(model_id, context, grains));
        return app;
    }

    private static async Task TrainedModelsAsync(string? modelId, HttpContext context, IGrainFactory grains)
    {
        var table = new CatTable(TrainedModelColumns);
        if (QueryParameters.Bool(context.Request, "help", false))
        {
            await table.WriteAsync(context);
            return;
        }
        var query = QueryParameters.All(context.Request);
        var models = GetTrainedModelsSettings.Parse(modelId,
            query.Where(q => q.Key is "from" or "size" or "allow_no_match").ToDictionary(q => q.Key, q => q.Value));
        var store = grains.GetGrain<IModelStoreGrain>("models");
        var listed = await store.GetModels(models.ToRequest(modelId));
        // Only the pipeline counts of _stats: not its deployment stats, which ask every node.
        var pipelines = await store.GetPipelineCounts();

        foreach (var config in listed.TrainedModelConfigs.Select(m => m.Config))
        {
            table.AddRow(
                config.ModelId,
                config.CreatedBy,
                ByteSize.OfBytes(config.ModelSizeBytes),
                config.EstimatedOperations,
                config.LicenseLevel.ToUpperInvariant(), // License.OperationMode's name
                new CatInstant(config.CreateTime),
                config.Version,
                config.Description,
                config.ModelType,
                (long)pipelines.GetValueOrDefault(config.ModelId),
                // No ingest statistics are kept here (ingest runs elsewhere): ES's zeros for a model without them.
                0L, TimeValue.Zero, 0L, 0L,
                // No data frame analytics here: ES's "__none__" and empty cells.
                "__none__", null, null, null);
        }
        await table.WriteAsync(context);
    }
}
