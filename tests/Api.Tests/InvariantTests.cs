using Xunit;

namespace TrainedModelsOrleans.Api.Tests;

/// <summary>Invariants under concurrent, conflicting requests, checked in Postgres afterwards (own database: adds nodes).</summary>
public sealed class InvariantTests(ServiceFixture service) : IClassFixture<ServiceFixture>
{
    [Fact]
    public async Task Concurrent_starts_updates_and_stops_never_oversubscribe_a_node()
    {
        await service.AddNodeAsync(Deployments.NewId("node-a"), 4);
        await service.AddNodeAsync(Deployments.NewId("node-b"), 2);
        var models = new List<string>();
        for (var i = 0; i < 6; i++) models.Add(await service.UploadModelAsync("busy"));

        var random = new Random(7);
        for (var round = 0; round < 4; round++)
        {
            var requests = models.SelectMany(model => new Func<Task<Response>>[]
            {
                () => service.StartAsync(model, $"wait_for=starting&number_of_allocations={random.Next(1, 5)}&threads_per_allocation={(random.Next(2) == 0 ? 1 : 2)}"),
                () => service.UpdateAsync(model, random.Next(1, 6)),
                () => service.StopAsync(model),
            }).OrderBy(_ => random.Next()).ToArray();
            var responses = await Task.WhenAll(requests.Select(r => Task.Run(r)));
            Assert.All(responses, r => Assert.True((int)r.Status is 200 or 400 or 404 or 409 or 429, r.Text));
            await service.AssertNoNodeOversubscribedAsync();
        }
        foreach (var model in models) (await service.StopAsync(model)).AssertOk();
        Assert.Equal(0, await service.CountAsync("SELECT count(*) FROM deployment_routes WHERE deployment_id = ANY($1)", (object)models.ToArray()));
    }
}

/// <summary>Postgres itself refuses a plan that oversubscribes a node, whoever writes it.</summary>
public sealed class DatabaseInvariantTests(ServiceFixture service) : IClassFixture<ServiceFixture>
{
    [Fact]
    public async Task The_database_refuses_routes_beyond_a_nodes_processors()
    {
        // One transaction with the deferred check made immediate, so each statement is judged on its own and the
        // live coordinator (which drops capacity rows of nodes that are not members) cannot interleave; rolled back.
        var node = Deployments.NewId("guarded");
        await using var connection = await service.Database.DataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        async Task ExecuteAsync(string sql)
        {
            await using var command = new Npgsql.NpgsqlCommand(sql, connection, transaction);
            if (sql.Contains("$1", StringComparison.Ordinal)) command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = node });
            await command.ExecuteNonQueryAsync();
        }
        await ExecuteAsync("SET CONSTRAINTS ALL IMMEDIATE");
        await ExecuteAsync("INSERT INTO node_capacity (node, allocated_processors, memory_bytes) VALUES ($1, 2, 1000)");
        await ExecuteAsync("""
            INSERT INTO deployment_routes (deployment_id, node, model_id, priority, threads_per_allocation, current_allocations, target_allocations, routing_state)
            VALUES ('fits', $1, 'm', 'normal', 1, 2, 2, 'started')
            """);

        await ExecuteAsync("SAVEPOINT before_too_many");
        var error = await Assert.ThrowsAsync<Npgsql.PostgresException>(() => ExecuteAsync("""
            INSERT INTO deployment_routes (deployment_id, node, model_id, priority, threads_per_allocation, current_allocations, target_allocations, routing_state)
            VALUES ('too-many', $1, 'm', 'normal', 1, 1, 1, 'starting')
            """));
        Assert.Equal(Npgsql.PostgresErrorCodes.CheckViolation, error.SqlState);
        await ExecuteAsync("ROLLBACK TO SAVEPOINT before_too_many");

        // Low priority does not count against processors.
        await ExecuteAsync("""
            INSERT INTO deployment_routes (deployment_id, node, model_id, priority, threads_per_allocation, current_allocations, target_allocations, routing_state)
            VALUES ('low', $1, 'm', 'low', 1, 1, 1, 'started')
            """);
        await using var count = new Npgsql.NpgsqlCommand("SELECT count(*) FROM deployment_routes WHERE node = $1", connection, transaction);
        count.Parameters.Add(new Npgsql.NpgsqlParameter { Value = node });
        Assert.Equal(2L, await count.ExecuteScalarAsync());
        await transaction.RollbackAsync();
    }
}
