using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using TrainedModelsOrleans.Silo.Storage;
using TrainedModelsOrleans.TestSupport;
using Xunit;

namespace TrainedModelsOrleans.Storage.Tests;

/// <summary>Each test gets an empty database and, where it needs one, a schema folder of its own.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class SchemaMigratorTests : IAsyncLifetime
{
    private readonly string _database = $"migrator_{Guid.NewGuid():N}"[..25];
    private readonly string _schema = TestRunDirectory.CreateScratchDirectory("schema");
    private string _connectionString = "";
    private NpgsqlDataSource _db = null!;

    public async Task InitializeAsync()
    {
        _connectionString = await PostgresTestServer.CreateDatabaseAsync(_database);
        _db = NpgsqlDataSource.Create(_connectionString);
    }

    public async Task DisposeAsync()
    {
        await _db.DisposeAsync();
        await PostgresTestServer.DropDatabaseAsync(_database);
        Directory.Delete(_schema, recursive: true);
    }

    [Fact]
    public async Task Files_are_applied_in_version_order_and_recorded()
    {
        File.WriteAllText(Path.Combine(_schema, "0002_add_b.sql"), "ALTER TABLE t ADD COLUMN b int; CREATE TABLE u (x int);");
        File.WriteAllText(Path.Combine(_schema, "0001_create_t.sql"), "CREATE TABLE t (a int);");
        File.WriteAllText(Path.Combine(_schema, "notes.sql"), "this is not sql and is not a schema file");

        await SchemaMigrator.ApplyAsync(_db, _schema, NullLogger.Instance, default);

        Assert.Equal(["1 create_t", "2 add_b"], await VersionsAsync());
        Assert.Equal(2L, await ScalarAsync("select count(*) from information_schema.columns where table_name = 't'"));
    }

    [Fact]
    public async Task Second_apply_changes_nothing()
    {
        var schema = SchemaMigrator.FindSchemaDirectory();
        await SchemaMigrator.ApplyAsync(_db, schema, NullLogger.Instance, default);
        var first = await RowsAsync();

        await SchemaMigrator.ApplyAsync(_db, schema, NullLogger.Instance, default);

        Assert.NotEmpty(first);
        Assert.Equal(first, await RowsAsync());
    }

    [Fact]
    public async Task Concurrent_applies_run_each_file_once()
    {
        foreach (var file in Directory.GetFiles(SchemaMigrator.FindSchemaDirectory(), "*.sql"))
            File.Copy(file, Path.Combine(_schema, Path.GetFileName(file)));
        // Not idempotent: a second run of this file would fail.
        File.WriteAllText(Path.Combine(_schema, "9000_not_idempotent.sql"), "CREATE TABLE once_only (x int); INSERT INTO once_only VALUES (1);");

        var processes = Enumerable.Range(0, 4).Select(_ => NpgsqlDataSource.Create(_connectionString)).ToList();
        try
        {
            await Task.WhenAll(processes.Select(p => Task.Run(() => SchemaMigrator.ApplyAsync(p, _schema, NullLogger.Instance, default))));
        }
        finally
        {
            foreach (var p in processes) await p.DisposeAsync();
        }

        Assert.Equal(Directory.GetFiles(_schema, "*.sql").Length, (await VersionsAsync()).Count);
        Assert.Equal(1L, await ScalarAsync("select count(*) from once_only"));
    }

    [Fact]
    public async Task A_new_file_is_applied_and_earlier_ones_are_left_alone()
    {
        File.WriteAllText(Path.Combine(_schema, "0001_first.sql"), "CREATE TABLE first (x int);");
        await SchemaMigrator.ApplyAsync(_db, _schema, NullLogger.Instance, default);
        var before = await RowsAsync();

        File.WriteAllText(Path.Combine(_schema, "0002_second.sql"), "CREATE TABLE second (x int);");
        await SchemaMigrator.ApplyAsync(_db, _schema, NullLogger.Instance, default);

        var after = await RowsAsync();
        Assert.Equal(before[0], after[0]);
        Assert.Equal(["1 first", "2 second"], await VersionsAsync());
    }

    [Fact]
    public async Task A_failing_file_is_rolled_back_and_not_recorded()
    {
        File.WriteAllText(Path.Combine(_schema, "0001_good.sql"), "CREATE TABLE good (x int);");
        File.WriteAllText(Path.Combine(_schema, "0002_bad.sql"), "CREATE TABLE half (x int);\nSELECT no_such_column FROM good;");

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => SchemaMigrator.ApplyAsync(_db, _schema, NullLogger.Instance, default));

        Assert.Contains("0002_bad.sql", error.Message);
        Assert.Equal(["1 good"], await VersionsAsync());
        Assert.Equal(0L, await ScalarAsync("select count(*) from pg_class where relname = 'half'"));
        // The lock was released: another run gets through (and fails on the same file again).
        await Assert.ThrowsAsync<InvalidOperationException>(() => SchemaMigrator.ApplyAsync(_db, _schema, NullLogger.Instance, default));
    }

    [Fact]
    public void FindSchemaDirectory_finds_the_repository_schema()
    {
        var directory = SchemaMigrator.FindSchemaDirectory();
        Assert.True(File.Exists(Path.Combine(directory, "0001_runtime.sql")), directory);
    }

    private async Task<object?> ScalarAsync(string sql)
    {
        await using var command = _db.CreateCommand(sql);
        return await command.ExecuteScalarAsync();
    }

    private async Task<List<string>> VersionsAsync()
    {
        var versions = new List<string>();
        await using var command = _db.CreateCommand("select version, name from schema_version order by version");
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) versions.Add($"{reader.GetInt32(0)} {reader.GetString(1)}");
        return versions;
    }

    private async Task<List<string>> RowsAsync()
    {
        var rows = new List<string>();
        await using var command = _db.CreateCommand("select version, name, applied_on, sha256 from schema_version order by version");
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            rows.Add($"{reader.GetInt32(0)}|{reader.GetString(1)}|{reader.GetDateTime(2):O}|{reader.GetString(3)}");
        return rows;
    }
}
