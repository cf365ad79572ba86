using Orleans.Storage;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace TrainedModelsOrleans.Grains.Storage;

/// <summary>
/// Grain state as JSON in the grain_state table with a version column: the version is the ETag, and a
/// write or clear whose ETag is stale changes nothing and throws InconsistentStateException.
/// </summary>
public sealed class GrainStorage(NpgsqlDataSource dataSource, JsonSerializerOptions? serializerOptions = null)
{
    public JsonSerializerOptions SerializerOptions { get; } = serializerOptions ?? new JsonSerializerOptions(JsonSerializerDefaults.General);

    internal NpgsqlDataSource DataSource => dataSource;

    public async Task<StoredRow<T>> ReadAsync<T>(StateKey id, string stateName, CancellationToken cancellationToken) where T : new()
    {
        await using var command = dataSource.CreateCommand(
            "SELECT payload::text, version FROM grain_state WHERE grain_type = $1 AND grain_key = $2 AND state_name = $3");
        command.Parameters.Add(new NpgsqlParameter { Value = id.Type });
        command.Parameters.Add(new NpgsqlParameter { Value = id.Key });
        command.Parameters.Add(new NpgsqlParameter { Value = stateName });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken)) return new StoredRow<T>(new T(), null, false);
        var version = reader.GetInt32(1);
        if (await reader.IsDBNullAsync(0, cancellationToken)) return new StoredRow<T>(new T(), Etag(version), false);
        var state = JsonSerializer.Deserialize<T>(reader.GetString(0), SerializerOptions) ?? new T();
        return new StoredRow<T>(state, Etag(version), true);
    }

    public async Task<string> WriteAsync<T>(StateKey id, string stateName, T state, string? etag, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await WriteAsync(connection, null, id, stateName, Serialize(state), etag, cancellationToken);
    }

    public async Task<string?> ClearAsync(StateKey id, string stateName, string? etag, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await ClearAsync(connection, null, id, stateName, etag, cancellationToken);
    }

    internal string Serialize<T>(T state) => JsonSerializer.Serialize(state, SerializerOptions);

    /// <summary>Conditional write on an open connection (and optionally inside a transaction).</summary>
    internal static async Task<string> WriteAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, StateKey id,
        string stateName, string json, string? etag, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(etag is null
            ? """
              INSERT INTO grain_state (grain_type, grain_key, state_name, payload, version)
              VALUES ($1, $2, $3, $4, 1)
              ON CONFLICT DO NOTHING
              RETURNING version
              """
            : """
              UPDATE grain_state SET payload = $4, version = version + 1, modified_on = now()
              WHERE grain_type = $1 AND grain_key = $2 AND state_name = $3 AND version = $5
              RETURNING version
              """, connection, transaction);
        AddKey(command, id, stateName);
        command.Parameters.Add(new NpgsqlParameter { Value = json, NpgsqlDbType = NpgsqlDbType.Jsonb });
        if (etag is not null) command.Parameters.Add(new NpgsqlParameter { Value = ParseEtag(etag) });
        var result = await command.ExecuteScalarAsync(cancellationToken);
        if (result is int version) return Etag(version);
        throw await ConflictAsync(connection, transaction, id, stateName, etag, cancellationToken);
    }

    internal static async Task<string?> ClearAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, StateKey id,
        string stateName, string? etag, CancellationToken cancellationToken)
    {
        if (etag is null)
        {
            // Never written as far as this caller knows: fine only if there is still nothing stored.
            var stored = await StoredVersionAsync(connection, transaction, id, stateName, cancellationToken);
            if (stored is null) return null;
            throw Conflict(id, stateName, Etag(stored.Value), null);
        }
        await using var command = new NpgsqlCommand("""
            UPDATE grain_state SET payload = NULL, version = version + 1, modified_on = now()
            WHERE grain_type = $1 AND grain_key = $2 AND state_name = $3 AND version = $4
            RETURNING version
            """, connection, transaction);
        AddKey(command, id, stateName);
        command.Parameters.Add(new NpgsqlParameter { Value = ParseEtag(etag) });
        var result = await command.ExecuteScalarAsync(cancellationToken);
        if (result is int version) return Etag(version);
        throw await ConflictAsync(connection, transaction, id, stateName, etag, cancellationToken);
    }

    private static async Task<InconsistentStateException> ConflictAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction,
        StateKey id, string stateName, string? etag, CancellationToken cancellationToken)
    {
        var stored = await StoredVersionAsync(connection, transaction, id, stateName, cancellationToken);
        return Conflict(id, stateName, stored is null ? null : Etag(stored.Value), etag);
    }

    private static InconsistentStateException Conflict(StateKey id, string stateName, string? stored, string? current) =>
        new($"Version conflict writing state '{stateName}' of {id}: stored ETag {stored ?? "none"}, this activation has {current ?? "none"}.",
            stored, current);

    private static async Task<int?> StoredVersionAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction,
        StateKey id, string stateName, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            "SELECT version FROM grain_state WHERE grain_type = $1 AND grain_key = $2 AND state_name = $3", connection, transaction);
        AddKey(command, id, stateName);
        return await command.ExecuteScalarAsync(cancellationToken) as int?;
    }

    private static void AddKey(NpgsqlCommand command, StateKey id, string stateName)
    {
        command.Parameters.Add(new NpgsqlParameter { Value = id.Type });
        command.Parameters.Add(new NpgsqlParameter { Value = id.Key });
        command.Parameters.Add(new NpgsqlParameter { Value = stateName });
    }

    private static string Etag(int version) => version.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static int ParseEtag(string etag) =>
        int.TryParse(etag, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var v)
            ? v
            : throw new ArgumentException($"'{etag}' is not an ETag issued by this storage.", nameof(etag));
}

public readonly record struct StoredRow<T>(T State, string? Etag, bool RecordExists);
