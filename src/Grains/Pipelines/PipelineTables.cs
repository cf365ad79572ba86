using System.Text.Json.Nodes;
using Npgsql;

namespace TrainedModelsOrleans.Grains.Pipelines;

/// <summary>
/// Ingest pipelines in tables of our own (db/0003): each pipeline's body and the model ids (model ids, deployment ids or
/// aliases, as written) its inference processors name, replaced together in one PostgreSQL transaction.
/// </summary>
public sealed class PipelineTables(NpgsqlDataSource dataSource)
{
    public async Task ReplaceAsync(string id, JsonObject body, IEnumerable<string> modelIds, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await ExecuteAsync(connection, transaction, """
            INSERT INTO ingest_pipelines (id, body) VALUES ($1, $2::jsonb)
            ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body, modified_on = now()
            """, [id, body.ToJsonString()], ct);
        await ExecuteAsync(connection, transaction, "DELETE FROM pipeline_model_refs WHERE pipeline_id = $1", [id], ct);
        foreach (var model in modelIds.Distinct(StringComparer.Ordinal))
            await ExecuteAsync(connection, transaction, "INSERT INTO pipeline_model_refs (pipeline_id, model_id) VALUES ($1, $2)", [id, model], ct);
        await transaction.CommitAsync(ct);
    }

    public async Task DeleteAsync(IReadOnlyCollection<string> ids, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand("DELETE FROM ingest_pipelines WHERE id = ANY($1)");
        command.Parameters.Add(new NpgsqlParameter { Value = ids.ToArray() });
        await command.ExecuteNonQueryAsync(ct);
    }

    public async Task<IReadOnlyDictionary<string, JsonObject>> AllAsync(CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand("SELECT id, body::text FROM ingest_pipelines");
        await using var reader = await command.ExecuteReaderAsync(ct);
        var pipelines = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        while (await reader.ReadAsync(ct)) pipelines[reader.GetString(0)] = JsonNode.Parse(reader.GetString(1))!.AsObject();
        return pipelines;
    }

    /// <summary>pipeline id → the ids its inference processors name.</summary>
    public async Task<IReadOnlyList<(string PipelineId, string ModelId)>> ReferencesAsync(CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand("SELECT pipeline_id, model_id FROM pipeline_model_refs");
        var references = new List<(string, string)>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) references.Add((reader.GetString(0), reader.GetString(1)));
        return references;
    }

    /// <summary>Every model id, deployment id or alias that some pipeline's inference processor names.</summary>
    public async Task<IReadOnlySet<string>> ReferencedIdsAsync(CancellationToken ct) =>
        (await ReferencesAsync(ct)).Select(r => r.ModelId).ToHashSet(StringComparer.Ordinal);

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, object[] args, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        foreach (var arg in args) command.Parameters.Add(new NpgsqlParameter { Value = arg });
        await command.ExecuteNonQueryAsync(ct);
    }
}
