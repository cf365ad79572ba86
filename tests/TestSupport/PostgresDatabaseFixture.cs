using Npgsql;
using Xunit;

namespace TrainedModelsOrleans.TestSupport;

/// <summary>
/// An xunit class fixture: <c>IClassFixture&lt;PostgresDatabaseFixture&gt;</c> gives the test
/// class its own <see cref="TestDatabase"/>, created before its first test and dropped after its last.
/// Derive to seed data or to choose the name prefix.
/// </summary>
public class PostgresDatabaseFixture : IAsyncLifetime
{
    private TestDatabase? _database;

    public TestDatabase Database => _database ?? throw new InvalidOperationException("The fixture is not initialised yet.");

    public string ConnectionString => Database.ConnectionString;

    public NpgsqlDataSource DataSource => Database.DataSource;

    protected virtual string NamePrefix => GetType().Name;

    public Task<T?> ScalarAsync<T>(string sql, params (string Name, object? Value)[] args) => Database.ScalarAsync<T>(sql, args);

    public Task<int> ExecuteAsync(string sql, params (string Name, object? Value)[] args) => Database.ExecuteAsync(sql, args);

    public virtual async Task InitializeAsync() => _database = await TestDatabase.CreateAsync(NamePrefix).ConfigureAwait(false);

    public virtual async Task DisposeAsync()
    {
        if (_database is { } database) await database.DisposeAsync().ConfigureAwait(false);
        _database = null;
    }
}
