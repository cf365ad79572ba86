using Npgsql;
using TrainedModelsOrleans.Runtime.MembershipService;
using Xunit;

namespace TrainedModelsOrleans.Runtime.Tests;

public sealed class PersistenceTests(RuntimeDatabase database) : IClassFixture<RuntimeDatabase>
{
    [Fact]
    public async Task State_is_loaded_before_activation_and_survives_a_silo_restart()
    {
        var key = "restart-" + Guid.NewGuid();
        await using (var silo = await TestSilo.StartAsync(database.DataSource))
        {
            for (var i = 0; i < 3; i++) await silo.Grains.GetGrain<ICounterGrain>(key).Increment();
        }
        await using (var silo = await TestSilo.StartAsync(database.DataSource))
        {
            Assert.Equal(3, await silo.Grains.GetGrain<ICounterGrain>(key).Get());
        }
        Assert.Equal(3, await database.CountAsync(
            "SELECT (payload->>'Value')::int FROM grain_state WHERE grain_type = 'counter' AND grain_key = $1", key));
    }

    [Fact]
    public async Task Stale_write_is_refused_and_changes_nothing()
    {
        await using var silo = await TestSilo.StartAsync(database.DataSource);
        var id = new GrainId("counter", "stale-" + Guid.NewGuid());
        var first = await silo.Store.ReadAsync<CounterState>(id, "counter");
        var second = await silo.Store.ReadAsync<CounterState>(id, "counter");
        first.State.Value = 10;
        await first.WriteStateAsync();

        second.State.Value = 99;
        var error = await Assert.ThrowsAsync<InconsistentStateException>(() => second.WriteStateAsync());
        Assert.Equal("1", error.StoredEtag);
        Assert.Null(error.CurrentEtag);
        Assert.Equal(10, await database.CountAsync(
            "SELECT (payload->>'Value')::int FROM grain_state WHERE grain_type = 'counter' AND grain_key = $1", id.Key));

        // A stale ETag on update is refused too.
        await second.ReadStateAsync();
        first.State.Value = 11;
        await first.WriteStateAsync();
        second.State.Value = 100;
        await Assert.ThrowsAsync<InconsistentStateException>(() => second.WriteStateAsync());
        await Assert.ThrowsAsync<InconsistentStateException>(() => second.ClearStateAsync());
        Assert.Equal(11, await database.CountAsync(
            "SELECT (payload->>'Value')::int FROM grain_state WHERE grain_type = 'counter' AND grain_key = $1", id.Key));
    }

    [Fact]
    public async Task A_grain_whose_write_is_stale_is_deactivated_and_reloads_on_the_next_call()
    {
        await using var silo = await TestSilo.StartAsync(database.DataSource);
        var key = "reload-" + Guid.NewGuid();
        var grain = silo.Grains.GetGrain<ICounterGrain>(key);
        Assert.Equal(1, await grain.Increment());

        var outside = await silo.Store.ReadAsync<CounterState>(new GrainId("counter", key), "counter");
        outside.State.Value = 50;
        await outside.WriteStateAsync();

        await Assert.ThrowsAsync<InconsistentStateException>(() => grain.Increment());
        await ActivationTests.WaitUntil(() => Probe.LastReason.GetValueOrDefault(key) == DeactivationReason.InconsistentState);
        Assert.Equal(51, await grain.Increment());
    }

    [Fact]
    public async Task Clear_blanks_the_record_and_keeps_versioning()
    {
        await using var silo = await TestSilo.StartAsync(database.DataSource);
        var id = new GrainId("counter", "clear-" + Guid.NewGuid());
        var state = await silo.Store.ReadAsync<CounterState>(id, "counter");
        state.State.Value = 5;
        await state.WriteStateAsync();
        await state.ClearStateAsync();

        Assert.False(state.RecordExists);
        Assert.Equal("2", state.Etag);
        var reread = await silo.Store.ReadAsync<CounterState>(id, "counter");
        Assert.False(reread.RecordExists);
        Assert.Equal(0, reread.State.Value);
        Assert.Equal("2", reread.Etag);
    }

    [Fact]
    public async Task Transaction_commits_every_state_and_row_together()
    {
        await using var silo = await TestSilo.StartAsync(database.DataSource);
        await EnsureLedgerAsync();
        var a = await silo.Store.ReadAsync<CounterState>(new GrainId("counter", "tx-a-" + Guid.NewGuid()), "counter");
        var b = await silo.Store.ReadAsync<CounterState>(new GrainId("counter", "tx-b-" + Guid.NewGuid()), "counter");
        var entry = Guid.NewGuid().ToString();
        a.State.Value = 1;
        b.State.Value = 2;

        await silo.Store.BeginTransaction().Write(a).Write(b)
            .Execute("INSERT INTO test_ledger (entry) VALUES ($1)", [entry], expectedRows: 1)
            .CommitAsync();

        Assert.Equal("1", a.Etag);
        Assert.Equal("1", b.Etag);
        Assert.Equal(1, await database.CountAsync("SELECT count(*) FROM test_ledger WHERE entry = $1", entry));
        Assert.Equal(2, await database.CountAsync("SELECT count(*) FROM grain_state WHERE grain_key IN ($1, $2)", a.GetGrainKey(), b.GetGrainKey()));
    }

    [Fact]
    public async Task Transaction_with_one_stale_state_commits_nothing()
    {
        await using var silo = await TestSilo.StartAsync(database.DataSource);
        await EnsureLedgerAsync();
        var a = await silo.Store.ReadAsync<CounterState>(new GrainId("counter", "txs-a-" + Guid.NewGuid()), "counter");
        var bId = new GrainId("counter", "txs-b-" + Guid.NewGuid());
        var b = await silo.Store.ReadAsync<CounterState>(bId, "counter");
        var winner = await silo.Store.ReadAsync<CounterState>(bId, "counter");
        winner.State.Value = 7;
        await winner.WriteStateAsync();
        var entry = Guid.NewGuid().ToString();

        a.State.Value = 1;
        b.State.Value = 2;
        var transaction = silo.Store.BeginTransaction()
            .Write(a)
            .Execute("INSERT INTO test_ledger (entry) VALUES ($1)", [entry])
            .Write(b);
        await Assert.ThrowsAsync<InconsistentStateException>(() => transaction.CommitAsync());

        Assert.Null(a.Etag);
        Assert.Equal(0, await database.CountAsync("SELECT count(*) FROM grain_state WHERE grain_key = $1", a.GetGrainKey()));
        Assert.Equal(0, await database.CountAsync("SELECT count(*) FROM test_ledger WHERE entry = $1", entry));
        Assert.Equal(7, await database.CountAsync("SELECT (payload->>'Value')::int FROM grain_state WHERE grain_key = $1", bId.Key));
    }

    [Fact]
    public async Task Transaction_that_breaks_a_constraint_commits_nothing()
    {
        await using var silo = await TestSilo.StartAsync(database.DataSource);
        await EnsureLedgerAsync();
        var entry = Guid.NewGuid().ToString();
        await using (var insert = database.DataSource.CreateCommand("INSERT INTO test_ledger (entry) VALUES ($1)"))
        {
            insert.Parameters.Add(new NpgsqlParameter { Value = entry });
            await insert.ExecuteNonQueryAsync();
        }
        var a = await silo.Store.ReadAsync<CounterState>(new GrainId("counter", "txc-" + Guid.NewGuid()), "counter");
        a.State.Value = 3;

        var error = await Assert.ThrowsAsync<PostgresException>(() => silo.Store.BeginTransaction()
            .Write(a).Execute("INSERT INTO test_ledger (entry) VALUES ($1)", [entry]).CommitAsync());
        Assert.Equal(PostgresErrorCodes.UniqueViolation, error.SqlState);
        Assert.Null(a.Etag);
        Assert.Equal(0, await database.CountAsync("SELECT count(*) FROM grain_state WHERE grain_key = $1", a.GetGrainKey()));
    }

    [Fact]
    public async Task Concurrent_transactions_on_one_state_let_exactly_one_win()
    {
        await using var silo = await TestSilo.StartAsync(database.DataSource);
        var id = new GrainId("counter", "race-" + Guid.NewGuid());
        var seed = await silo.Store.ReadAsync<CounterState>(id, "counter");
        await seed.WriteStateAsync();

        for (var round = 0; round < 10; round++)
        {
            var contenders = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => silo.Store.ReadAsync<CounterState>(id, "counter")));
            var outcomes = await Task.WhenAll(contenders.Select(async state =>
            {
                state.State.Value++;
                try { await silo.Store.BeginTransaction().Write(state).CommitAsync(); return true; }
                catch (InconsistentStateException) { return false; }
            }));
            Assert.Single(outcomes, won => won);
        }
        Assert.Equal(10, await database.CountAsync("SELECT (payload->>'Value')::int FROM grain_state WHERE grain_key = $1", id.Key));
    }

    [Fact]
    public async Task Silo_registers_in_membership_and_leaves_cleanly()
    {
        var name = "member-" + Guid.NewGuid().ToString("N")[..8];
        var silo = await TestSilo.StartAsync(database.DataSource, siloName: name);
        var key = "member-" + Guid.NewGuid();
        await silo.Grains.GetGrain<ICounterGrain>(key).Increment();
        var entry = (await silo.Silo.ReadMembershipAsync()).Single(e => e.SiloId == name);
        Assert.Equal(SiloStatus.Active, entry.Status);
        Assert.Equal(2, entry.AllocatedProcessors);
        Assert.Equal(1, await database.CountAsync("SELECT count(*) FROM grain_directory WHERE silo_id = $1", name));

        await silo.DisposeAsync();
        Assert.Equal(SiloStatus.Dead, await ScalarTextAsync("SELECT status FROM silos WHERE silo_id = $1", name));
        Assert.Equal(0, await database.CountAsync("SELECT count(*) FROM grain_directory WHERE silo_id = $1", name));

        // The next life of the node gets a higher generation.
        await using var again = await TestSilo.StartAsync(database.DataSource, siloName: name);
        Assert.True(again.Silo.Identity.Generation > entry.Generation);
    }

    [Fact]
    public async Task Directory_entry_of_a_dead_silo_is_taken_over()
    {
        var key = "orphan-" + Guid.NewGuid();
        await using (var command = database.DataSource.CreateCommand(
            "INSERT INTO silos (silo_id, generation, address, status, allocated_processors, memory_bytes) VALUES ('gone', 1, 'x:1', 'dead', 1, 1) ON CONFLICT DO NOTHING"))
        {
            await command.ExecuteNonQueryAsync();
        }
        await using (var command = database.DataSource.CreateCommand(
            "INSERT INTO grain_directory (grain_id, silo_id, silo_generation, activation_id) VALUES ($1, 'gone', 1, gen_random_uuid())"))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = "counter/" + key });
            await command.ExecuteNonQueryAsync();
        }
        await using var silo = await TestSilo.StartAsync(database.DataSource);
        Assert.Equal(1, await silo.Grains.GetGrain<ICounterGrain>(key).Increment());
        Assert.Equal("test-silo", await ScalarTextAsync("SELECT silo_id FROM grain_directory WHERE grain_id = $1", "counter/" + key));
    }

    private async Task<string?> ScalarTextAsync(string sql, params object[] args)
    {
        await using var command = database.DataSource.CreateCommand(sql);
        foreach (var arg in args) command.Parameters.Add(new NpgsqlParameter { Value = arg });
        return await command.ExecuteScalarAsync() as string;
    }

    private async Task EnsureLedgerAsync()
    {
        await using var command = database.DataSource.CreateCommand("CREATE TABLE IF NOT EXISTS test_ledger (entry text PRIMARY KEY)");
        try { await command.ExecuteNonQueryAsync(); }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation) { } // concurrent CREATE IF NOT EXISTS
    }
}

internal static class StateTestExtensions
{
    public static string GetGrainKey<T>(this IPersistentState<T> state) where T : new() =>
        ((Persistence.PersistentState<T>)state).GrainId.Key;
}
