using System.Text.Json.Nodes;
using Orleans;
using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.Ingest;

namespace TrainedModelsOrleans.Grains.Pipelines;

/// <summary>
/// One ingest pipeline (keyed by id, or by the id expression for GET): its body and the model ids its
/// inference processors name, replaced together in one transaction.
/// </summary>
public sealed class IngestPipelineGrain(PipelineTables tables) : Grain, IIngestPipelineGrain, Errors.IKeyedByUserId
{
    /// <summary>Pipelines live in their table: an activation keeps nothing between calls.</summary>
    bool Errors.IKeyedByUserId.HoldsNothing(bool callFoundNothing) => true;

    private string Id => this.GetPrimaryKeyString();

    public async Task Put(byte[] body)
    {
        var pipeline = IngestPipeline.Parse(Id, body);
        // Processors that would not run here are refused now, as ES refuses a pipeline it cannot build.
        PipelineCompiler.Compile(Id, pipeline.Body);
        await tables.ReplaceAsync(Id, pipeline.Body, pipeline.InferenceModelIds, CancellationToken.None);
    }

    public async Task<JsonObject?> Get()
    {
        var (status, body) = IngestPipeline.Get(Id, await tables.AllAsync(CancellationToken.None));
        return status == 404 ? null : body;
    }

    public async Task Delete()
    {
        var matched = IngestPipeline.SelectForDelete(Id, (await tables.AllAsync(CancellationToken.None)).Keys);
        if (matched.Count == 0) return;
        await tables.DeleteAsync(matched, CancellationToken.None);
    }
}
