using System.Text.Json;
using Npgsql;
using TrainedModelsOrleans.Grains.Storage;

namespace TrainedModelsOrleans.Grains.ModelStore;

/// <summary>The SQL of the model store (db/0002_model_store.sql), kept out of the grains.</summary>
public sealed class ModelStoreTables(NpgsqlDataSource dataSource, GrainStorage storage)
{
    public const string ModelGrainType = "trainedmodel";
    public const string ConfigState = "config";

    public static StateTransaction ClaimModelId(StateTransaction transaction, string modelId) =>
        transaction.Execute("INSERT INTO ml_ids (id, kind, model_id) VALUES ($1, 'model', $1)", [modelId], expectedRows: 1);

    /// <summary>Frees the model's id and its aliases, and drops its stored payloads.</summary>
    public static StateTransaction ReleaseModel(StateTransaction transaction, string modelId) => transaction
        .Execute("DELETE FROM ml_ids WHERE model_id = $1 AND kind IN ('model', 'alias')", [modelId])
        .Execute("DELETE FROM model_definition_parts WHERE model_id = $1", [modelId])
        .Execute("DELETE FROM model_vocabulary WHERE model_id = $1", [modelId]);

    public static StateTransaction AddDefinitionPart(StateTransaction transaction, string modelId, Models.DefinitionPart part) =>
        transaction.Execute("""
            INSERT INTO model_definition_parts (model_id, part, total_parts, total_definition_length, definition)
            VALUES ($1, $2, $3, $4, $5)
            """, [modelId, part.Part, part.TotalParts, part.TotalDefinitionLength, part.Definition], expectedRows: 1);

    public static StateTransaction AddVocabulary(StateTransaction transaction, string modelId, string vocabularyJson) =>
        transaction.Execute("INSERT INTO model_vocabulary (model_id, vocabulary) VALUES ($1, $2::jsonb)", [modelId, vocabularyJson], expectedRows: 1);

    /// <summary>The stored definition parts by part number.</summary>
    public async Task<SortedDictionary<int, byte[]>> ReadPartsAsync(string modelId, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand("SELECT part, definition FROM model_definition_parts WHERE model_id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = modelId });
        await using var reader = await command.ExecuteReaderAsync(ct);
        var parts = new SortedDictionary<int, byte[]>();
        while (await reader.ReadAsync(ct)) parts[reader.GetInt32(0)] = reader.GetFieldValue<byte[]>(1);
        return parts;
    }

    /// <summary>The model's uploaded vocabulary, or null.</summary>
    public async Task<Models.VocabularyUpload?> ReadVocabularyAsync(string modelId, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand("SELECT vocabulary::text FROM model_vocabulary WHERE model_id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = modelId });
        return await command.ExecuteScalarAsync(ct) is string json
            ? System.Text.Json.JsonSerializer.Deserialize<Models.VocabularyUpload>(json)
            : null;
    }

    /// <summary>Every existing model's id and tags (for id expressions and tag filters).</summary>
    public async Task<IReadOnlyDictionary<string, IReadOnlyList<string>>> ModelTagsAsync(CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT grain_key, COALESCE(ARRAY(SELECT jsonb_array_elements_text(payload->'Config'->'tags')), '{}')
            FROM grain_state
            WHERE grain_type = $1 AND state_name = $2 AND payload->'Config' IS NOT NULL AND payload->'Config' <> 'null'::jsonb
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = ModelGrainType });
        command.Parameters.Add(new NpgsqlParameter { Value = ConfigState });
        await using var reader = await command.ExecuteReaderAsync(ct);
        var models = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        while (await reader.ReadAsync(ct)) models[reader.GetString(0)] = reader.GetFieldValue<string[]>(1);
        return models;
    }

    /// <summary>alias → model id.</summary>
    public async Task<IReadOnlyDictionary<string, string>> AliasesAsync(CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand("SELECT id, model_id FROM ml_ids WHERE kind = 'alias'");
        await using var reader = await command.ExecuteReaderAsync(ct);
        var aliases = new Dictionary<string, string>(StringComparer.Ordinal);
        while (await reader.ReadAsync(ct)) aliases[reader.GetString(0)] = reader.GetString(1);
        return aliases;
    }

    /// <summary>The committed records of these models (those that were ever written).</summary>
    public async Task<IReadOnlyDictionary<string, TrainedModelRecord>> RecordsAsync(IReadOnlyCollection<string> modelIds, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT grain_key, payload::text FROM grain_state WHERE grain_type = $1 AND state_name = $2 AND grain_key = ANY($3)");
        command.Parameters.Add(new NpgsqlParameter { Value = ModelGrainType });
        command.Parameters.Add(new NpgsqlParameter { Value = ConfigState });
        command.Parameters.Add(new NpgsqlParameter { Value = modelIds.ToArray() });
        await using var reader = await command.ExecuteReaderAsync(ct);
        var records = new Dictionary<string, TrainedModelRecord>(StringComparer.Ordinal);
        while (await reader.ReadAsync(ct))
            if (JsonSerializer.Deserialize<TrainedModelRecord>(reader.GetString(1), storage.SerializerOptions) is { } record)
                records[reader.GetString(0)] = record;
        return records;
    }
}
