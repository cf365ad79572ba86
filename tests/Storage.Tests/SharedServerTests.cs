using Npgsql;
using TrainedModelsOrleans.Silo.Storage;
using TrainedModelsOrleans.TestSupport;
using Xunit;

namespace TrainedModelsOrleans.Storage.Tests;

/// <summary>The per-process test server and the database each test class gets from it.</summary>
public sealed class SharedServerTests(PostgresDatabaseFixture db) : IClassFixture<PostgresDatabaseFixture>
{
    [Fact]
    public async Task Server_answers_with_PostgreSQL_15()
    {
        var version = await db.ScalarAsync<string>("select version()");
        Assert.StartsWith("PostgreSQL 15.", version);
        var number = await db.ScalarAsync<int>("select current_setting('server_version_num')::int");
        Assert.InRange(number, 150000, 159999);
    }

    [Fact]
    public async Task Fixture_database_has_the_schema_from_the_db_folder()
    {
        var files = Directory.GetFiles(SchemaMigrator.FindSchemaDirectory(), "*.sql").Length;
        Assert.Equal(files, await db.ScalarAsync<int>("select count(*) from schema_version"));
        foreach (var table in new[] { "orleansquery", "orleansmembershiptable", "orleansstorage", "model_definition_parts", "ml_ids", "deployment_routes", "node_capacity" })
            Assert.True(await db.ScalarAsync<bool>("select to_regclass(@t) is not null", ("t", table)), table);
        // The home-made runtime's membership, directory and state tables are gone.
        foreach (var table in new[] { "silos", "grain_directory", "grain_state", "ml_nodes" })
            Assert.False(await db.ScalarAsync<bool>("select to_regclass(@t) is not null", ("t", table)), table);
    }

    [Fact]
    public async Task Parameters_and_nulls_round_trip_through_the_helpers()
    {
        await db.ExecuteAsync("create table if not exists helper_check (k text primary key, v int)");
        Assert.Equal(1, await db.ExecuteAsync("insert into helper_check values (@k, @v)", ("k", "a"), ("v", 7)));
        Assert.Equal(1, await db.ExecuteAsync("insert into helper_check values (@k, @v)", ("k", "b"), ("v", null)));
        Assert.Equal(7L, await db.ScalarAsync<long>("select v from helper_check where k = @k", ("k", "a")));
        Assert.Null(await db.ScalarAsync<int?>("select v from helper_check where k = @k", ("k", "b")));
        Assert.Null(await db.ScalarAsync<string>("select 'x' where false"));
    }

    [Fact]
    public async Task Created_databases_do_not_see_each_others_tables()
    {
        var server = await PostgresTestServer.GetEmbeddedAsync();
        var first = $"iso_a_{Guid.NewGuid():N}"[..20];
        var second = $"iso_b_{Guid.NewGuid():N}"[..20];
        var firstCs = server is null ? await PostgresTestServer.CreateDatabaseAsync(first) : await server.CreateDatabaseAsync(first, default);
        var secondCs = server is null ? await PostgresTestServer.CreateDatabaseAsync(second) : await server.CreateDatabaseAsync(second, default);
        try
        {
            await using (var a = new NpgsqlConnection(firstCs))
            {
                await a.OpenAsync();
                await new NpgsqlCommand("create table only_here (x int); insert into only_here values (1)", a).ExecuteNonQueryAsync();
            }
            await using var b = new NpgsqlConnection(secondCs);
            await b.OpenAsync();
            Assert.Null(await new NpgsqlCommand("select to_regclass('only_here')::text", b).ExecuteScalarAsync() as string);
            Assert.Equal(second, b.Database);
        }
        finally
        {
            await PostgresTestServer.DropDatabaseAsync(first);
            await PostgresTestServer.DropDatabaseAsync(second);
        }
    }

    [Fact]
    public async Task Dropped_test_database_is_gone()
    {
        var database = await TestDatabase.CreateAsync("drop check");
        Assert.StartsWith("drop_check_", database.Name);
        await database.DisposeAsync();
        await using var admin = new NpgsqlConnection(await PostgresTestServer.GetAdminConnectionStringAsync());
        await admin.OpenAsync();
        var command = new NpgsqlCommand("select count(*) from pg_database where datname = $1", admin) { Parameters = { new() { Value = database.Name } } };
        Assert.Equal(0L, await command.ExecuteScalarAsync());
    }
}
