using System.Text.RegularExpressions;
using Npgsql;

namespace TrainedModelsOrleans.Silo.Storage;

/// <summary>Creating and dropping databases on a server, through a connection to its maintenance database.</summary>
public static partial class PostgresDatabases
{
    private const string DuplicateDatabase = "42P04";

    /// <summary>
    /// Creates <paramref name="name"/> unless it exists, and returns a connection string for it
    /// (the admin connection string with its Database replaced).
    /// </summary>
    public static async Task<string> CreateIfMissingAsync(string adminConnectionString, string name, CancellationToken ct)
    {
        ValidateName(name);
        await using var connection = new NpgsqlConnection(Maintenance(adminConnectionString));
        await connection.OpenAsync(ct).ConfigureAwait(false);
        await using (var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = $1", connection))
        {
            exists.Parameters.AddWithValue(name);
            if (await exists.ExecuteScalarAsync(ct).ConfigureAwait(false) is null)
            {
                try
                {
                    await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
                    await create.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
                }
                catch (PostgresException e) when (e.SqlState == DuplicateDatabase)
                {
                    // Another process created it between our check and our CREATE.
                }
            }
        }
        return new NpgsqlConnectionStringBuilder(adminConnectionString) { Database = name }.ConnectionString;
    }

    /// <summary>Drops <paramref name="name"/> if it exists, disconnecting whoever is still connected.</summary>
    public static async Task DropIfExistsAsync(string adminConnectionString, string name, CancellationToken ct)
    {
        ValidateName(name);
        await using var connection = new NpgsqlConnection(Maintenance(adminConnectionString));
        await connection.OpenAsync(ct).ConfigureAwait(false);
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", connection);
        await drop.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
    }

    /// <summary>Database names we create are plain lower-case identifiers, so they never need escaping.</summary>
    public static void ValidateName(string name)
    {
        if (name is null || !PlainIdentifier().IsMatch(name))
            throw new ArgumentException(
                $"Database name '{name}' must be 1-63 characters of a-z, 0-9 and _, starting with a letter or _.", nameof(name));
    }

    // Always the "postgres" database, and unpooled: a pooled idle connection would keep the target
    // database busy, and these calls are rare.
    private static string Maintenance(string adminConnectionString) =>
        new NpgsqlConnectionStringBuilder(adminConnectionString) { Database = "postgres", Pooling = false }.ConnectionString;

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,62}$")]
    private static partial Regex PlainIdentifier();
}
