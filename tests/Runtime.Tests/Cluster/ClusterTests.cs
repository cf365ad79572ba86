using System.Diagnostics;
using TrainedModelsOrleans.Runtime.Cluster;
using TrainedModelsOrleans.Runtime.MembershipService;
using TrainedModelsOrleans.TestSupport;
using Xunit;

namespace TrainedModelsOrleans.Runtime.Tests;

/// <summary>Several silos in one process (separate runtimes, ports and catalogs) over one database.</summary>
public sealed class ClusterTests(RuntimeDatabase database) : IClassFixture<RuntimeDatabase>
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan DeathTimeout = TimeSpan.FromSeconds(3);

    private Task<TestSilo> StartSilo(string name) => TestSilo.StartAsync(database.DataSource, siloName: name, configureSilo: o =>
    {
        o.HeartbeatPeriod = TimeSpan.FromMilliseconds(250);
        o.DeathTimeout = DeathTimeout;
    });

    private async Task<TestSilo[]> StartSilos(string prefix, int count)
    {
        var silos = new TestSilo[count];
        for (var i = 0; i < count; i++) silos[i] = await StartSilo($"{prefix}-{i}");
        // Every silo has read the others into its view.
        await WaitUntil(() => silos.All(s => s.Silo.Current.Alive.Count(e => e.SiloId.StartsWith(prefix)) == count), TimeSpan.FromSeconds(10));
        return silos;
    }

    private static async Task DisposeAll(IEnumerable<TestSilo> silos)
    {
        foreach (var silo in silos) await silo.DisposeAsync();
    }

    [Fact]
    public async Task Concurrent_first_calls_from_every_silo_make_one_activation_cluster_wide()
    {
        var silos = await StartSilos("single", 3);
        try
        {
            for (var round = 0; round < 25; round++)
            {
                var key = $"one-{round}-{Guid.NewGuid():N}";
                var calls = silos.SelectMany(s => Enumerable.Range(0, 8).Select(_ => Task.Run(() => s.Grains.GetGrain<IWhereGrain>(key).Where())));
                var answers = await Task.WhenAll(calls).WaitAsync(Bound);

                Assert.Single(answers.Distinct());
                Assert.Single(WhereProbe.Activations[key]);
                Assert.Equal(1, await database.CountAsync("SELECT count(*) FROM grain_directory WHERE grain_id = $1", "where/" + key));
            }
        }
        finally { await DisposeAll(silos); }
    }

    [Fact]
    public async Task A_remote_call_carries_arguments_results_and_the_grains_exception()
    {
        var silos = await StartSilos("remote", 2);
        try
        {
            var key = "remote-" + Guid.NewGuid();
            var home = await silos[0].Grains.GetGrain<IWhereGrain>(key).Where();
            Assert.Equal("remote-0", home.Silo);

            var remote = silos[1].Grains.GetGrain<IWhereGrain>(key);
            Assert.Equal(home, await remote.Where());
            Assert.Equal(5, await remote.Add(2, 3));
            var bytes = Enumerable.Range(0, 100_000).Select(i => (byte)i).ToArray();
            Assert.Equal(bytes.Reverse().ToArray(), await remote.Reverse(bytes));
            var error = await Assert.ThrowsAsync<GrainFaultException>(() => remote.Fail("far away"));
            Assert.Equal("far away", error.Message);
            Assert.Equal(7, error.Code);
        }
        finally { await DisposeAll(silos); }
    }

    [Fact]
    public async Task Stateless_workers_run_where_they_are_pinned_and_silo_keyed_grains_on_their_silo()
    {
        var silos = await StartSilos("pinned", 2);
        try
        {
            Assert.Equal("pinned-0", await silos[0].Grains.GetGrain<ILocalWorkerGrain>("w").Silo());
            Assert.Equal("pinned-1", await silos[0].Grains.GetStatelessWorker<ILocalWorkerGrain>("w", "pinned-1").Silo());
            Assert.Equal("pinned-1", await silos[0].Grains.GetGrain<INodeAgentGrain>("pinned-1").Silo());
            Assert.Equal("pinned-0", await silos[1].Grains.GetGrain<INodeAgentGrain>("pinned-0").Silo());

            var missing = await Assert.ThrowsAsync<SiloUnavailableException>(
                () => silos[0].Grains.GetStatelessWorker<ILocalWorkerGrain>("w", "no-such-silo").Silo());
            Assert.Contains("no-such-silo", missing.Message);

            // Only stateless workers may be pinned: a pinned call to any other grain would bypass its placement.
            await using var client = new TrainedModelsOrleans.Runtime.Client.ClusterClient(
                new TrainedModelsOrleans.Runtime.Client.ClusterClientOptions { Gateways = { silos[0].Silo.Address } },
                RuntimeExceptionCodecs.Serializer(null, [new GrainFaultCodec()]));
            Assert.Equal("pinned-1", await client.GetStatelessWorker<ILocalWorkerGrain>("w", "pinned-1").Silo());
            await Assert.ThrowsAsync<InvalidOperationException>(() => client.GetStatelessWorker<INodeAgentGrain>("pinned-0", "pinned-1").Silo());
            Assert.Equal("pinned-0", await client.GetGrain<INodeAgentGrain>("pinned-0").Silo());
        }
        finally { await DisposeAll(silos); }
    }

    [Fact]
    public async Task Every_silo_reads_the_same_membership()
    {
        var silos = await StartSilos("view", 3);
        try
        {
            var signatures = silos.Select(s => s.Silo.Current.Signature()).Distinct().ToArray();
            Assert.Single(signatures);
            Assert.All(silos, s => Assert.Equal(SiloStatus.Active, s.Silo.Current.Alive.Single(e => e.SiloId == s.Silo.Identity.Name).Status));
        }
        finally { await DisposeAll(silos); }
    }

    [Fact]
    public async Task A_killed_silo_is_declared_dead_and_its_grains_come_back_elsewhere()
    {
        var silos = await StartSilos("kill", 2);
        try
        {
            var key = "victim-" + Guid.NewGuid();
            var onVictim = silos[0].Grains.GetGrain<IWhereGrain>(key);
            Assert.Equal("kill-0", (await onVictim.Where()).Silo);
            await silos[0].Silo.KillAsync();

            // Before the death timeout the grain's silo is still "alive" in the table: the call fails fast and clearly.
            var watch = Stopwatch.StartNew();
            var error = await Assert.ThrowsAsync<SiloUnavailableException>(() => silos[1].Grains.GetGrain<IWhereGrain>(key).Where());
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(3), $"the call to a dead silo took {watch.Elapsed}");
            Assert.Contains("kill-0", error.Message);

            // A peer declares it dead by a conditional update; the grain then activates on the survivor.
            await WaitUntil(async () => await database.CountAsync(
                "SELECT count(*) FROM silos WHERE silo_id = 'kill-0' AND status = 'dead'") == 1, DeathTimeout + TimeSpan.FromSeconds(5));
            var moved = await silos[1].Grains.GetGrain<IWhereGrain>(key).Where().WaitAsync(Bound);
            Assert.Equal("kill-1", moved.Silo);
        }
        finally { await DisposeAll(silos); }
    }

    [Fact]
    public async Task A_silo_declared_dead_fences_itself_and_serves_no_more_calls()
    {
        var silos = await StartSilos("fence", 2);
        try
        {
            var fenced = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            silos[0].Silo.Fenced += reason => fenced.TrySetResult(reason);
            await database.Db.ExecuteAsync("UPDATE silos SET status = 'dead' WHERE silo_id = 'fence-0' AND status <> 'dead'");

            var reason = await fenced.Task.WaitAsync(TimeSpan.FromSeconds(5));
            Assert.Contains("declared it dead", reason);
            Assert.True(silos[0].Silo.IsFenced);
            await Assert.ThrowsAsync<SiloUnavailableException>(() => silos[0].Grains.GetGrain<IWhereGrain>("after").Where());
            // Its status stays dead: a fenced silo never revives its row.
            Assert.Equal(0, await database.CountAsync("SELECT count(*) FROM silos WHERE silo_id = 'fence-0' AND status <> 'dead'"));
            // The survivor serves the grain.
            Assert.Equal("fence-1", (await silos[1].Grains.GetGrain<IWhereGrain>("after").Where()).Silo);
        }
        finally { await DisposeAll(silos); }
    }

    [Fact]
    public async Task A_silo_cut_off_from_the_database_fences_itself()
    {
        await using var relay = await TcpRelay.StartAsync(database.Db.ConnectionString);
        await using var cutOffSource = Npgsql.NpgsqlDataSource.Create(relay.ConnectionString);
        await using var silo = await TestSilo.StartAsync(cutOffSource, siloName: "cutoff", configureSilo: o =>
        {
            o.HeartbeatPeriod = TimeSpan.FromMilliseconds(250);
            o.DeathTimeout = DeathTimeout;
        });
        var fenced = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        silo.Silo.Fenced += reason => fenced.TrySetResult(reason);
        Assert.Equal("cutoff", (await silo.Grains.GetGrain<IWhereGrain>("cut").Where()).Silo);

        relay.Cut();
        var reason = await fenced.Task.WaitAsync(DeathTimeout + TimeSpan.FromSeconds(5));
        Assert.Contains("could not write its heartbeat", reason);
        await Assert.ThrowsAsync<SiloUnavailableException>(() => silo.Grains.GetGrain<IWhereGrain>("cut").Where());
    }

    [Fact]
    public async Task A_graceful_leave_hands_the_grains_over_at_once()
    {
        var silos = await StartSilos("leave", 2);
        try
        {
            var key = "handover-" + Guid.NewGuid();
            Assert.Equal("leave-0", (await silos[0].Grains.GetGrain<IWhereGrain>(key).Where()).Silo);
            await silos[0].DisposeAsync();

            Assert.Equal("dead", await database.Db.ScalarAsync<string>("SELECT status FROM silos WHERE silo_id = 'leave-0' ORDER BY generation DESC LIMIT 1"));
            Assert.Equal("leave-1", (await silos[1].Grains.GetGrain<IWhereGrain>(key).Where().WaitAsync(TimeSpan.FromSeconds(10))).Silo);
        }
        finally { await DisposeAll(silos); }
    }

    private static async Task WaitUntil(Func<bool> condition, TimeSpan bound) => await WaitUntil(() => Task.FromResult(condition()), bound);

    private static async Task WaitUntil(Func<Task<bool>> condition, TimeSpan bound)
    {
        var deadline = DateTime.UtcNow + bound;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"condition not met within {bound}");
            await Task.Delay(50);
        }
    }
}
