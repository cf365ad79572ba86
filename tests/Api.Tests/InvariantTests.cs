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
    /// <summary>
    /// Invariant 1 is kept by PostgreSQL too: a NodeCapacityGrain row (its transactional record in OrleansStorage)
    /// whose committed state or any prepared state puts more normal-priority threads on the node than it has
    /// processors cannot be stored. Rows written here by hand, in a transaction rolled back at the end.
    /// </summary>
    [Fact]
    public async Task The_database_refuses_a_node_row_whose_reservations_exceed_its_processors()
    {
        await using var connection = await service.Database.DataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var key = "nodecapacity/" + Deployments.NewId("guarded");
        async Task StoreAsync(string record)
        {
            await using var command = new Npgsql.NpgsqlCommand("""
                INSERT INTO orleansstorage (grainidhash, grainidn0, grainidn1, graintypehash, graintypestring, grainidextensionstring, serviceid, payloadbinary, version)
                VALUES (hashtext($1), 0, 0, hashtext('node-capacity'), 'node-capacity', $1, 'tests', convert_to($2, 'UTF8'), 1)
                ON CONFLICT DO NOTHING
                """, connection, transaction);
            command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = key });
            command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = record });
            await command.ExecuteNonQueryAsync();
        }
        static System.Text.Json.Nodes.JsonObject State(int processors, params (int Threads, int Allocations, string Priority)[] reservations)
        {
            var held = new System.Text.Json.Nodes.JsonObject();
            for (var i = 0; i < reservations.Length; i++)
                held[$"d{i}"] = new System.Text.Json.Nodes.JsonObject
                {
                    ["ThreadsPerAllocation"] = reservations[i].Threads, ["Allocations"] = reservations[i].Allocations, ["Priority"] = reservations[i].Priority,
                };
            return new System.Text.Json.Nodes.JsonObject { ["Processors"] = processors, ["Reservations"] = held };
        }
        static string Record(System.Text.Json.Nodes.JsonObject committed, params System.Text.Json.Nodes.JsonObject[] pending) =>
            new System.Text.Json.Nodes.JsonObject
            {
                ["CommittedState"] = committed,
                ["CommittedSequenceId"] = 1,
                ["PendingStates"] = new System.Text.Json.Nodes.JsonArray(pending.Select((p, i) =>
                    (System.Text.Json.Nodes.JsonNode)new System.Text.Json.Nodes.JsonObject { ["SequenceId"] = i + 2, ["State"] = p }).ToArray()),
            }.ToJsonString();

        async Task AssertRefusedAsync(string record)
        {
            await using (var savepoint = new Npgsql.NpgsqlCommand("SAVEPOINT attempt", connection, transaction)) await savepoint.ExecuteNonQueryAsync();
            var error = await Assert.ThrowsAsync<Npgsql.PostgresException>(() => StoreAsync(record));
            Assert.Equal(Npgsql.PostgresErrorCodes.CheckViolation, error.SqlState);
            Assert.Equal("ml_node_threads_fit", error.ConstraintName);
            await using var rollback = new Npgsql.NpgsqlCommand("ROLLBACK TO SAVEPOINT attempt", connection, transaction);
            await rollback.ExecuteNonQueryAsync();
        }

        // Two threads on two processors fit; low priority does not count against processors.
        await AssertRefusedAsync(Record(State(2, (1, 3, "normal"))));
        await AssertRefusedAsync(Record(State(2, (1, 2, "normal")), State(2, (1, 2, "normal"), (1, 1, "normal"))));
        await StoreAsync(Record(State(2, (1, 2, "normal"), (4, 4, "low")), State(2, (2, 1, "normal"))));
        await using var count = new Npgsql.NpgsqlCommand("SELECT count(*) FROM orleansstorage WHERE grainidextensionstring = $1", connection, transaction);
        count.Parameters.Add(new Npgsql.NpgsqlParameter { Value = key });
        Assert.Equal(1L, await count.ExecuteScalarAsync());
        await transaction.RollbackAsync();
    }
}
