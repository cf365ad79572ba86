using System.Text.Json.Nodes;
using Npgsql;
using TrainedModelsOrleans.Grains.Deployments;
using Orleans;
using Orleans.Concurrency;
using TrainedModelsOrleans.Grains.Storage;

namespace TrainedModelsOrleans.Grains.Pipelines;

/// <summary>
/// One ingest pipeline (keyed by id, or by the id expression for GET): its body and the model ids its
/// inference processors name, replaced together in one transaction.
/// </summary>
public sealed class IngestPipelineGrain(GrainStateStore store, NpgsqlDataSource dataSource) : Grain, IIngestPipelineGrain
{
    private string Id => this.GetPrimaryKeyString();

    public async Task Put(byte[] body)
    {
        var pipeline = IngestPipeline.Parse(Id, body);
        var transaction = store.BeginTransaction()
            .Execute("""
                INSERT INTO ingest_pipelines (id, body) VALUES ($1, $2::jsonb)
                ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body, modified_on = now()
                """, [Id, pipeline.Body.ToJsonString()])
            .Execute("DELETE FROM pipeline_model_refs WHERE pipeline_id = $1", [Id]);
        foreach (var model in pipeline.InferenceModelIds.Distinct(StringComparer.Ordinal))
            transaction.Execute("INSERT INTO pipeline_model_refs (pipeline_id, model_id) VALUES ($1, $2)", [Id, model]);
        await transaction.CommitAsync();
    }

    public async Task<JsonObject?> Get()
    {
        var (status, body) = IngestPipeline.Get(Id, await AllAsync());
        return status == 404 ? null : body;
    }

    public async Task Delete()
    {
        var matched = IngestPipeline.SelectForDelete(Id, (await AllAsync()).Keys);
        if (matched.Count == 0) return;
        await store.BeginTransaction().Execute("DELETE FROM ingest_pipelines WHERE id = ANY($1)", [matched.ToArray()]).CommitAsync();
    }

    private async Task<IReadOnlyDictionary<string, JsonObject>> AllAsync()
    {
        await using var command = dataSource.CreateCommand("SELECT id, body::text FROM ingest_pipelines");
        await using var reader = await command.ExecuteReaderAsync();
        var pipelines = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        while (await reader.ReadAsync()) pipelines[reader.GetString(0)] = JsonNode.Parse(reader.GetString(1))!.AsObject();
        return pipelines;
    }
}
