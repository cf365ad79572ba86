using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace TrainedModelsOrleans.Silo.Storage;

/// <summary>
/// Brings a database up to the schema in <c>db/NNNN_name.sql</c>: each file not yet recorded in
/// <c>schema_version</c> runs in its own transaction together with its record, in version order.
/// An advisory lock held for the whole run makes processes that start together take turns.
/// </summary>
public static partial class SchemaMigrator
{
    /// <summary>The advisory lock key ("TMOschem"); advisory locks are per database.</summary>
    private const long LockKey = 0x544D_4F73_6368_656D;

    private const string CreateVersionTable = """
        CREATE TABLE IF NOT EXISTS schema_version (
            version    integer     PRIMARY KEY,
            name       text        NOT NULL,
            applied_on timestamptz NOT NULL DEFAULT now(),
            sha256     text        NOT NULL
        )
        """;

    public static async Task ApplyAsync(NpgsqlDataSource db, string schemaDirectory, ILogger logger, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(logger);
        var files = ReadSchemaFiles(schemaDirectory);

        await using var connection = await db.OpenConnectionAsync(ct).ConfigureAwait(false);
        await ExecuteAsync(connection, $"SELECT pg_advisory_lock({LockKey})", ct).ConfigureAwait(false);
        try
        {
            // Created under the lock: two concurrent CREATE TABLE IF NOT EXISTS can collide.
            await ExecuteAsync(connection, CreateVersionTable, ct).ConfigureAwait(false);
            var applied = await ReadAppliedAsync(connection, ct).ConfigureAwait(false);

            var count = 0;
            foreach (var file in files)
            {
                if (applied.TryGetValue(file.Version, out var recordedSha))
                {
                    if (recordedSha != file.Sha256)
                        logger.LogWarning("Schema file {File} changed after it was applied as version {Version}; the change is not applied",
                            file.Path, file.Version);
                    continue;
                }
                await ApplyFileAsync(connection, file, ct).ConfigureAwait(false);
                logger.LogInformation("Applied schema version {Version} ({Name})", file.Version, file.Name);
                count++;
            }
            if (count == 0) logger.LogDebug("Schema is up to date ({Count} versions in {Directory})", files.Count, schemaDirectory);
        }
        finally
        {
            // Session-level: released explicitly so the pooled connection does not keep it.
            if (connection.State == System.Data.ConnectionState.Open)
                await ExecuteAsync(connection, $"SELECT pg_advisory_unlock({LockKey})", CancellationToken.None).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The folder holding the NNNN_name.sql files: <c>&lt;app base&gt;/db</c> (copied into build
    /// outputs), else the first <c>db/</c> with schema files found walking up from the current directory.
    /// </summary>
    public static string FindSchemaDirectory()
    {
        var candidates = new List<string> { Path.Combine(AppContext.BaseDirectory, "db") };
        for (var dir = new DirectoryInfo(Directory.GetCurrentDirectory()); dir is not null; dir = dir.Parent)
            candidates.Add(Path.Combine(dir.FullName, "db"));

        foreach (var candidate in candidates)
        {
            if (Directory.Exists(candidate) && Directory.EnumerateFiles(candidate, "*.sql").Any(f => SchemaFileName().IsMatch(Path.GetFileName(f))))
                return candidate;
        }
        throw new DirectoryNotFoundException(
            $"No db/ folder with NNNN_name.sql schema files found; looked in {string.Join(", ", candidates)}.");
    }

    private sealed record SchemaFile(int Version, string Name, string Path, string Sql, string Sha256);

    private static List<SchemaFile> ReadSchemaFiles(string schemaDirectory)
    {
        if (!Directory.Exists(schemaDirectory))
            throw new DirectoryNotFoundException($"Schema folder {schemaDirectory} does not exist.");

        var files = new List<SchemaFile>();
        foreach (var path in Directory.EnumerateFiles(schemaDirectory, "*.sql"))
        {
            var match = SchemaFileName().Match(System.IO.Path.GetFileName(path));
            if (!match.Success) continue;
            var bytes = File.ReadAllBytes(path);
            files.Add(new SchemaFile(
                int.Parse(match.Groups["version"].Value),
                match.Groups["name"].Value,
                path,
                Encoding.UTF8.GetString(bytes).TrimStart('\uFEFF'),
                Convert.ToHexStringLower(SHA256.HashData(bytes))));
        }
        files.Sort((a, b) => a.Version.CompareTo(b.Version));
        for (var i = 1; i < files.Count; i++)
        {
            if (files[i].Version == files[i - 1].Version)
                throw new InvalidOperationException(
                    $"Schema files {files[i - 1].Path} and {files[i].Path} have the same version {files[i].Version}.");
        }
        return files;
    }

    private static async Task<Dictionary<int, string>> ReadAppliedAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        var applied = new Dictionary<int, string>();
        await using var command = new NpgsqlCommand("SELECT version, sha256 FROM schema_version", connection);
        await using var reader = await command.ExecuteReaderAsync(ct).ConfigureAwait(false);
        while (await reader.ReadAsync(ct).ConfigureAwait(false)) applied[reader.GetInt32(0)] = reader.GetString(1);
        return applied;
    }

    private static async Task ApplyFileAsync(NpgsqlConnection connection, SchemaFile file, CancellationToken ct)
    {
        await using var transaction = await connection.BeginTransactionAsync(ct).ConfigureAwait(false);
        try
        {
            await using (var script = new NpgsqlCommand(file.Sql, connection, transaction) { CommandTimeout = 0 })
                await script.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        catch (PostgresException e)
        {
            throw new InvalidOperationException($"Schema file {file.Path} failed: {e.MessageText} (SQLSTATE {e.SqlState}" +
                (e.Position > 0 ? $", at character {e.Position}" : "") + ")", e);
        }
        await using (var record = new NpgsqlCommand(
            "INSERT INTO schema_version (version, name, sha256) VALUES ($1, $2, $3)", connection, transaction))
        {
            record.Parameters.AddWithValue(file.Version);
            record.Parameters.AddWithValue(file.Name);
            record.Parameters.AddWithValue(file.Sha256);
            await record.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        await transaction.CommitAsync(ct).ConfigureAwait(false);
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken ct)
    {
        // No command timeout: waiting for the lock is bounded by ct, not by the pool's 30 s.
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 0 };
        await command.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    [GeneratedRegex(@"^(?<version>\d{4})_(?<name>[^/\\]+)\.sql$")]
    private static partial Regex SchemaFileName();
}
