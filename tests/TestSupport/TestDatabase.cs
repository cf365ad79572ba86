using System.Globalization;
using System.Text;
using Npgsql;
using TrainedModelsOrleans.Silo.Storage;

namespace TrainedModelsOrleans.TestSupport;

/// <summary>
/// A fresh database on <see cref="PostgresTestServer"/> with the schema from db/ applied;
/// dropped on dispose. One per test class (see <see cref="PostgresDatabaseFixture"/>) keeps
/// classes that run in parallel out of each other's rows.
/// </summary>
public sealed class TestDatabase : IAsyncDisposable
{
    private TestDatabase(string name, string connectionString)
    {
        Name = name;
        ConnectionString = connectionString;
        DataSource = NpgsqlDataSource.Create(connectionString);
    }

    public string Name { get; }

    public string ConnectionString { get; }

    public NpgsqlDataSource DataSource { get; }

    /// <param name="namePrefix">Readable start of the database name (a test class name, say); a unique suffix is added.</param>
    public static async Task<TestDatabase> CreateAsync(string? namePrefix = null)
    {
        var name = UniqueName(namePrefix);
        var connectionString = await PostgresTestServer.CreateDatabaseAsync(name).ConfigureAwait(false);
        var database = new TestDatabase(name, connectionString);
        try
        {
            await SchemaMigrator.ApplyAsync(database.DataSource, SchemaMigrator.FindSchemaDirectory(), PostgresTestServer.Logger, CancellationToken.None)
                .ConfigureAwait(false);
        }
        catch
        {
            await database.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return database;
    }

    /// <summary>Runs <paramref name="sql"/> (with <c>@name</c> parameters) and returns the first column of the first row, converted to T.</summary>
    public async Task<T?> ScalarAsync<T>(string sql, params (string Name, object? Value)[] args)
    {
        await using var command = Command(sql, args);
        var value = await command.ExecuteScalarAsync().ConfigureAwait(false);
        if (value is null or DBNull) return default;
        if (value is T typed) return typed;
        var target = Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T);
        return (T)Convert.ChangeType(value, target, CultureInfo.InvariantCulture);
    }

    /// <summary>Runs <paramref name="sql"/> (with <c>@name</c> parameters) and returns the number of rows it changed.</summary>
    public async Task<int> ExecuteAsync(string sql, params (string Name, object? Value)[] args)
    {
        await using var command = Command(sql, args);
        return await command.ExecuteNonQueryAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await DataSource.DisposeAsync().ConfigureAwait(false);
        await PostgresTestServer.DropDatabaseAsync(Name).ConfigureAwait(false);
    }

    private NpgsqlCommand Command(string sql, (string Name, object? Value)[] args)
    {
        var command = DataSource.CreateCommand(sql);
        foreach (var (name, value) in args) command.Parameters.Add(new NpgsqlParameter(name, value ?? DBNull.Value));
        return command;
    }

    private static string UniqueName(string? prefix)
    {
        var readable = new StringBuilder();
        foreach (var c in (prefix ?? "test").ToLowerInvariant())
        {
            if (readable.Length == 40) break;
            readable.Append(char.IsAsciiLetterOrDigit(c) ? c : '_');
        }
        if (readable.Length == 0 || char.IsAsciiDigit(readable[0])) readable.Insert(0, 't');
        return $"{readable}_{Guid.NewGuid():N}"[..Math.Min(readable.Length + 13, 63)];
    }
}
