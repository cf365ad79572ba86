using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using TrainedModelsOrleans.Api.Http;
using TrainedModelsOrleans.Grains.ModelStore;
using TrainedModelsOrleans.Grains.Models;
using TrainedModelsOrleans.Grains.Inference;
using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Serving;
using Orleans;
using Microsoft.Extensions.DependencyInjection;

namespace TrainedModelsOrleans.Api.Endpoints;

/// <summary>The trained-model store: _ml/trained_models (PUT, GET, DELETE, definition parts, vocabulary).</summary>
public static class TrainedModelEndpoints
{
    // As PutTrainedModelSettings read it: comments allowed, as deep as the input limits allow.
    private static System.Text.Json.JsonDocumentOptions ConfigDocumentOptions => new()
    {
        CommentHandling = System.Text.Json.JsonCommentHandling.Skip, MaxDepth = Grains.Models.Parsing.JsonInputRules.Limits.MaxNestingDepth + 1,
    };

    public static IEndpointRouteBuilder MapTrainedModelEndpoints(this IEndpointRouteBuilder app)
    {
        var models = app.MapGroup("/_ml/trained_models");

        models.MapPut("/{model_id}", async (string model_id, HttpRequest request, IGrainFactory grains) =>
        {
            var body = await RequestBody.ReadBytesAsync(request, required: true);
            var (defer, wait) = (QueryParameters.Bool(request, "defer_definition_decompression", false), QueryParameters.Bool(request, "wait_for_completion", false));
            // Read here with Elasticsearch's parser (its 400s answer before any grain call); the grain reads it again, as it would an SDK caller's.
            PutTrainedModelSettings.Parse(model_id, body, defer, wait);
            var put = new PutTrainedModelRequest
            {
                ModelId = model_id, Config = JsonNode.Parse(body, documentOptions: ConfigDocumentOptions)!.AsObject(), DeferDefinitionDecompression = defer, WaitForCompletion = wait,
            };
            var response = await grains.GetGrain<ITrainedModelGrain>(model_id).Put(put);
            Warnings.Add(request.HttpContext.Response, response.Warnings);
            return ElasticsearchJson.Ok(TrainedModelConfigJson.Render(response.Config));
        });

        models.MapGet("/", (HttpRequest request, IGrainFactory grains) => GetModels(null, request, grains));
        models.MapGet("/{model_id}", (string model_id, HttpRequest request, IGrainFactory grains) => GetModels(model_id, request, grains));

        models.MapGet("/_stats", (HttpRequest request, IGrainFactory grains) => GetStats(null, request, grains));
        models.MapGet("/{model_id}/_stats", (string model_id, HttpRequest request, IGrainFactory grains) => GetStats(model_id, request, grains));

        // Present when this process is a silo (an API-only process has no data plane of its own).
        var direct = app.ServiceProvider.GetService<DirectInference>();
        models.MapPost("/{model_id}/_infer", TensorInferEndpoint.Handler(app.ServiceProvider.GetRequiredService<IGrainFactory>(), direct,
            app.ServiceProvider.GetRequiredService<Grains.Limits.ServiceLimits>()));

        models.MapPost("/{model_id}/deployment/_infer", async (string model_id, HttpRequest request, IGrainFactory grains) =>
        {
            Warnings.Add(request.HttpContext.Response,
                ["[POST /_ml/trained_models/{model_id}/deployment/_infer] is deprecated! Use [POST /_ml/trained_models/{model_id}/_infer] instead."]);
            var body = await RequestBody.ReadBytesAsync(request, required: false);
            return await InferAsync(InferRequest.Parse(body, QueryParameters.All(request), deploymentPath: true).ToRequest(model_id), grains);
        });

        models.MapDelete("/{model_id}", async (string model_id, HttpRequest request, IGrainFactory grains) =>
        {
            await grains.GetGrain<ITrainedModelGrain>(model_id).Delete(QueryParameters.Bool(request, "force", false));
            return ElasticsearchJson.Acknowledged();
        });

        models.MapPut("/{model_id}/definition/{part}", async (string model_id, string part, HttpRequest request, IGrainFactory grains, DefinitionUploads uploads) =>
        {
            await uploads.StoreAsync(model_id, part, request, upload => grains.GetGrain<ITrainedModelGrain>(model_id).PutDefinitionPart(upload));
            return ElasticsearchJson.Acknowledged();
        });

        models.MapPut("/{model_id}/vocabulary", async (string model_id, HttpRequest request, IGrainFactory grains) =>
        {
            var body = await RequestBody.ReadBytesAsync(request, required: true);
            await grains.GetGrain<ITrainedModelGrain>(model_id).PutVocabulary(VocabularyRules.Parse(model_id, body));
            return ElasticsearchJson.Acknowledged();
        });
        return app;
    }

    internal static async Task<IResult> InferAsync(InferTrainedModelRequest infer, IGrainFactory grains)
    {
        var response = await grains.GetGrain<IInferenceGrain>("infer").Infer(infer);
        return ElasticsearchJson.Ok(new System.Text.Json.Nodes.JsonObject { ["inference_results"] = response.InferenceResults });
    }

    private static async Task<IResult> GetStats(string? idExpression, HttpRequest request, IGrainFactory grains)
    {
        var query = QueryParameters.All(request);
        // _stats reads only allow_no_match, from and size (other parameters are ignored, as in ES).
        var stats = GetTrainedModelsSettings.Parse(idExpression, query.Where(q => q.Key is "allow_no_match" or "from" or "size")
            .ToDictionary(q => q.Key, q => q.Value)).ToRequest(idExpression);
        return ElasticsearchJson.Ok(TrainedModelStatsJson.Render(await grains.GetGrain<IModelStoreGrain>("models").GetStats(stats)));
    }

    private static async Task<IResult> GetModels(string? idExpression, HttpRequest request, IGrainFactory grains)
    {
        var settings = GetTrainedModelsSettings.Parse(idExpression, QueryParameters.All(request));
        // One stateless worker id: the pool spreads concurrent GETs over the node's workers.
        var response = await grains.GetGrain<IModelStoreGrain>("models").GetModels(settings.ToRequest(idExpression));
        return ElasticsearchJson.Ok(TrainedModelListJson.Render(response, settings));
    }
}
