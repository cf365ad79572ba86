using TrainedModelsOrleans.Runtime.Catalog;
using Xunit;

namespace TrainedModelsOrleans.Runtime.Tests;

public sealed class ActivationTests(RuntimeDatabase database) : IClassFixture<RuntimeDatabase>
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Concurrent_first_calls_make_exactly_one_activation()
    {
        await using var silo = await TestSilo.StartAsync(database.DataSource);
        for (var round = 0; round < 20; round++)
        {
            var key = $"single-{round}-{Guid.NewGuid():N}";
            var calls = Enumerable.Range(0, 50)
                .Select(_ => Task.Run(() => silo.Grains.GetGrain<ICounterGrain>(key).ActivationId()));
            var ids = await Task.WhenAll(calls).WaitAsync(Bound);

            Assert.Single(ids.Distinct());
            Assert.Equal(1, Probe.Activations[key]);
            Assert.Equal(1, await database.CountAsync("SELECT count(*) FROM grain_directory WHERE grain_id = $1", "counter/" + key));
        }
    }

    [Fact]
    public async Task Non_reentrant_grain_runs_one_request_at_a_time_in_arrival_order()
    {
        await using var silo = await TestSilo.StartAsync(database.DataSource);
        var grain = silo.Grains.GetGrain<ITurnGrain>("turns-" + Guid.NewGuid());
        var calls = Enumerable.Range(0, 40).Select(i => grain.Append(i, delayMs: 2)).ToArray();
        await Task.WhenAll(calls).WaitAsync(Bound);

        Assert.Equal(Enumerable.Range(0, 40), await grain.Values());
        Assert.Equal(1, await grain.MaxConcurrency());
        Assert.Equal(1, await grain.MaxInterleaving());
    }

    [Fact]
    public async Task Reentrant_grain_interleaves_requests_but_never_runs_two_turns_at_once()
    {
        await using var silo = await TestSilo.StartAsync(database.DataSource);
        var grain = silo.Grains.GetGrain<IReentrantTurnGrain>("reentrant-" + Guid.NewGuid());
        await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Task.Run(() => grain.Append(i, delayMs: 20)))).WaitAsync(Bound);

        Assert.Equal(1, await grain.MaxConcurrency());
        Assert.True(await grain.MaxInterleaving() > 1, "requests of a [Reentrant] grain should interleave at awaits");
        Assert.Equal(40, (await grain.Values()).Length);
    }

    [Fact]
    public async Task A_grain_exception_reaches_the_caller_as_itself()
    {
        await using var silo = await TestSilo.StartAsync(database.DataSource);
        var grain = silo.Grains.GetGrain<IBehaviourGrain>("faults");

        var error = await Assert.ThrowsAsync<GrainFaultException>(() => grain.Fail("boom"));
        Assert.Equal("boom", error.Message);
        Assert.Equal(42, error.Code);
        Assert.Equal("still alive", await grain.Echo("still alive"));
    }

    [Fact]
    public async Task ValueTask_methods_return_their_results()
    {
        await using var silo = await TestSilo.StartAsync(database.DataSource);
        var grain = silo.Grains.GetGrain<IBehaviourGrain>("values");
        Assert.Equal(5, await grain.AddAsync(2, 3));
        await grain.Nothing();
    }

    [Fact]
    public async Task A_call_past_its_deadline_fails_with_a_timeout_and_the_grain_keeps_serving()
    {
        await using var silo = await TestSilo.StartAsync(database.DataSource, o => o.ResponseTimeout = TimeSpan.FromMilliseconds(300));
        var grain = silo.Grains.GetGrain<IBehaviourGrain>("slow");

        var started = DateTime.UtcNow;
        await Assert.ThrowsAsync<TimeoutException>(() => grain.Sleep(3_000)).WaitAsync(Bound);
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(2.5), "the caller must not wait for the grain");

        // [ResponseTimeout] lengthens one method's deadline.
        await grain.SleepPatiently(500).WaitAsync(Bound);
    }

    [Fact]
    public async Task A_failed_activation_faults_the_call_and_the_next_call_tries_again()
    {
        await using var silo = await TestSilo.StartAsync(database.DataSource);
        var grain = silo.Grains.GetGrain<IBrokenGrain>("broken");

        var error = await Assert.ThrowsAsync<ActivationFailedException>(() => grain.Ping());
        Assert.Contains("cannot start: broken", error.Message);
        Assert.Equal(0, await database.CountAsync("SELECT count(*) FROM grain_directory WHERE grain_id = 'broken/broken'"));
        await Assert.ThrowsAsync<ActivationFailedException>(() => grain.Ping());
    }

    [Fact]
    public async Task Idle_activations_are_collected_and_come_back_with_their_state()
    {
        await using var silo = await TestSilo.StartAsync(database.DataSource, o =>
        {
            o.CollectionAge = TimeSpan.FromMilliseconds(200);
            o.CollectionQuantum = TimeSpan.FromMilliseconds(100);
        });
        var key = "idle-" + Guid.NewGuid();
        var grain = silo.Grains.GetGrain<ICounterGrain>(key);
        Assert.Equal(1, await grain.Increment());
        var first = await grain.ActivationId();

        await WaitUntil(() => Probe.Deactivations.GetValueOrDefault(key) == 1);
        Assert.Equal(DeactivationReason.IdleCollection, Probe.LastReason[key]);
        await WaitUntilAsync(async () => await database.CountAsync("SELECT count(*) FROM grain_directory WHERE grain_id = $1", "counter/" + key) == 0);

        Assert.Equal(2, await grain.Increment());
        Assert.NotEqual(first, await grain.ActivationId());
        Assert.Equal(2, Probe.Activations[key]);
    }

    [Fact]
    public async Task DeactivateOnIdle_deactivates_and_calls_that_arrive_meanwhile_reach_a_new_activation()
    {
        await using var silo = await TestSilo.StartAsync(database.DataSource);
        var key = "deact-" + Guid.NewGuid();
        var grain = silo.Grains.GetGrain<ICounterGrain>(key);
        await grain.Increment();
        var deactivate = grain.Deactivate();
        var after = Enumerable.Range(0, 10).Select(_ => grain.Increment()).ToArray();
        await deactivate;
        var results = await Task.WhenAll(after).WaitAsync(Bound);

        Assert.Equal(Enumerable.Range(2, 10), results.Order());
        Assert.Equal(11, await grain.Get());
        Assert.Equal(DeactivationReason.ApplicationRequested, Probe.LastReason[key]);
    }

    [Fact]
    public async Task Grains_call_other_grains()
    {
        await using var silo = await TestSilo.StartAsync(database.DataSource);
        var key = "callee-" + Guid.NewGuid();
        var caller = silo.Grains.GetGrain<ICallerGrain>("caller");
        Assert.Equal(1, await caller.IncrementThrough(key));
        Assert.Equal(2, await caller.IncrementThrough(key));
    }

    [Fact]
    public async Task Stateless_workers_stay_within_their_pool_bound_and_never_enter_the_directory()
    {
        await using var silo = await TestSilo.StartAsync(database.DataSource);
        var worker = silo.Grains.GetGrain<IWorkerGrain>("pool");
        var ids = await Task.WhenAll(Enumerable.Range(0, 60).Select(_ => worker.Work(delayMs: 10))).WaitAsync(Bound);

        Assert.InRange(ids.Distinct().Count(), 2, 3);
        Assert.InRange(WorkerGrain.MaxConcurrent, 2, 3);
        Assert.Equal(0, await database.CountAsync("SELECT count(*) FROM grain_directory WHERE grain_id LIKE 'worker/%'"));
    }

    [Fact]
    public async Task Counters_record_calls_failures_and_latency_per_method()
    {
        await using var silo = await TestSilo.StartAsync(database.DataSource);
        var grain = silo.Grains.GetGrain<IBehaviourGrain>("counted");
        var before = silo.Silo.GetStatistics().Methods.Single(m => m.GrainType == "behaviour" && m.Method.EndsWith(".Echo"));
        for (var i = 0; i < 25; i++) await grain.Echo("x");
        for (var i = 0; i < 3; i++) await Assert.ThrowsAsync<GrainFaultException>(() => grain.Fail("x"));

        var stats = silo.Silo.GetStatistics();
        var echo = stats.Methods.Single(m => m.GrainType == "behaviour" && m.Method.EndsWith(".Echo"));
        var fail = stats.Methods.Single(m => m.GrainType == "behaviour" && m.Method.EndsWith(".Fail"));
        Assert.Equal(25, echo.Calls - before.Calls);
        Assert.Equal(0, echo.Failures - before.Failures);
        Assert.True(fail.Failures >= 3);
        Assert.Equal(echo.Calls, echo.LatencyBuckets.Sum());
        Assert.True(stats.ActivationsByType["behaviour"] >= 1);
    }

    internal static Task WaitUntil(Func<bool> condition) => WaitUntilAsync(() => Task.FromResult(condition()));

    internal static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("condition not met in 15 s");
            await Task.Delay(20);
        }
    }
}

public sealed class SchedulerStressTests(RuntimeDatabase database) : IClassFixture<RuntimeDatabase>
{
    /// <summary>
    /// Many threads queue turns on one activation while its turns keep yielding: a lost wake-up in the
    /// activation scheduler strands a turn and the calls time out.
    /// </summary>
    [Fact]
    public async Task Turns_queued_from_many_threads_onto_one_activation_all_run()
    {
        await using var silo = await TestSilo.StartAsync(database.DataSource, o => o.ResponseTimeout = TimeSpan.FromSeconds(20));
        var grain = silo.Grains.GetGrain<IReentrantTurnGrain>("stress-" + Guid.NewGuid());
        var calls = Enumerable.Range(0, 16).Select(worker => Task.Run(async () =>
        {
            for (var i = 0; i < 1500; i++) await grain.Append(worker * 10_000 + i, delayMs: 0);
        }));
        await Task.WhenAll(calls).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(16 * 1500, (await grain.Values()).Length);
        Assert.Equal(1, await grain.MaxConcurrency());
    }
}
