using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.Serving;
using Orleans;
using TrainedModelsOrleans.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace TrainedModelsOrleans.Cluster.Tests;

/// <summary>
/// A stream of control-plane and inference operations, through HTTP and through the SDK, while the silo that hosts the
/// assignment coordinator is killed with SIGKILL. Every operation must end on time; what was acknowledged must hold.
/// </summary>
public sealed class KillDuringOperationsTests(ITestOutputHelper output)
{
    private static readonly TimeSpan OperationBound = TimeSpan.FromSeconds(20);
    // The kill lands early: the stream runs on through the death timeout and the re-plan after it.
    private static readonly TimeSpan StreamLength = TimeSpan.FromSeconds(12);
    private static readonly TimeSpan KillAfter = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan Pause = TimeSpan.FromMilliseconds(30);
    private const int MaxOperationsPerWorker = 400;

    private enum Kind { Start, Update, Stop, Alias, Infer }

    private static readonly Kind[] WhenDeployed = [Kind.Update, Kind.Stop, Kind.Infer, Kind.Infer];

    /// <summary>One operation as issued and as it ended: acknowledged (2xx / returned), or failed with the error it gave.</summary>
    private sealed record Operation(int Worker, Kind Kind, string Target, int Allocations, TimeSpan Started, TimeSpan Ended, bool Acknowledged, string? Error);

    /// <summary>What the log says a model's deployment must be: known deployed with n allocations, known absent, or unknown.</summary>
    private sealed record Expectation(bool? Deployed, int Allocations);

    [Fact]
    public async Task Operations_acknowledged_while_a_silo_is_killed_hold_afterwards_and_none_hangs()
    {
        // Four processors a node: the survivors (eight) can hold every deployment the stream may ask for (four models × two).
        await using var cluster = await TestCluster.StartAsync(new TestClusterOptions { Processors = 4 }, output);
        var models = new List<string>();
        for (var i = 0; i < 4; i++) models.Add(await TinyModel.UploadAsync(cluster[i % 3].Http, $"stream{i}"));
        var aliasTargets = new[] { await TinyModel.UploadAsync(cluster[0].Http, "aliased") };

        // The first start activates the coordinator; the victim is the silo that hosts it.
        (await cluster[1].Http.StartDeploymentAsync(models[0], "wait_for=started")).AssertOk();
        var coordinatorHome = await (await cluster.ClientAsync()).GetGrain<IAssignmentCoordinatorGrain>(AssignmentCoordinatorGrain.Key).GetNode();
        var victimIndex = cluster.Silos.ToList().FindIndex(s => s.Name == coordinatorHome);
        Assert.True(victimIndex >= 0, $"the coordinator lives on '{coordinatorHome}'");
        var victim = cluster[victimIndex];
        var survivors = cluster.Silos.Where(s => s != victim).ToArray();
        var client = (await cluster.CreateClientAsync(survivors)).Client;
        cluster.Log($"victim: {victim.Name} (hosts the coordinator)");

        var log = new ConcurrentQueue<Operation>();
        var clock = Stopwatch.StartNew();
        var streamEnd = StreamLength;
        var workers = new[]
        {
            Task.Run(() => RunWorkerAsync(0, [models[0], models[1]], aliasTargets, new HttpOperations(survivors.Select(s => s.Http).ToArray()), log, clock, streamEnd)),
            Task.Run(() => RunWorkerAsync(1, [models[2], models[3]], aliasTargets, new SdkOperations(client), log, clock, streamEnd)),
        };
        await Task.Delay(KillAfter);
        var killedAt = clock.Elapsed;
        await cluster.KillAsync(victimIndex);
        await Task.WhenAll(workers).WaitAsync(StreamLength + OperationBound + TimeSpan.FromSeconds(10));
        var operations = log.OrderBy(o => o.Started).ToArray();
        Report(operations, killedAt);

        // No operation outlived its bound, each failure carries an error, and the stream did work on both sides of the kill.
        Assert.All(operations, o => Assert.True(o.Ended - o.Started < OperationBound, $"{o} hung"));
        Assert.All(operations.Where(o => !o.Acknowledged), o => Assert.False(string.IsNullOrWhiteSpace(o.Error), $"{o} failed without an error"));
        Assert.Contains(operations, o => o.Acknowledged && o.Started < killedAt);
        Assert.Contains(operations, o => o.Acknowledged && o.Started > killedAt && o.Kind is not Kind.Infer);

        await cluster.WaitUntilDeclaredDeadAsync(victimIndex, cluster.Options.DeathDetection + TimeSpan.FromSeconds(5));
        var observer = survivors[0].Http;

        // No deployment is stuck: each one left is started on survivors only, fully allocated.
        var deployments = await cluster.RowsAsync("SELECT deployment_id FROM ml_deployments ORDER BY 1");
        var states = new Dictionary<string, DeploymentState?>();
        await cluster.WaitUntilAsync(async () =>
        {
            foreach (var id in deployments) states[id] = await DeploymentState.ReadAsync(observer, id);
            return states.Values.All(s => s is { AllRoutesStarted: true } && s.Allocations == s.NumberOfAllocations && !s.Nodes.ContainsKey(victim.Name));
        }, TimeSpan.FromSeconds(20), () => $"deployments stuck: {string.Join("; ", states.Select(s => $"{s.Key}: {s.Value}"))}");
        Assert.Empty(await cluster.RowsAsync("SELECT deployment_id FROM deployment_routes WHERE node = $1", victim.Name));

        // Every acknowledged change holds, in the API and in Postgres.
        foreach (var model in models)
        {
            var expected = Expect(model == models[0] ? new Expectation(true, 1) : new Expectation(false, 0), operations.Where(o => o.Target == model));
            var state = await DeploymentState.ReadAsync(observer, model);
            var stored = await DeploymentState.StoredNumberOfAllocationsAsync(cluster, model);
            cluster.Log($"{model}: expected {(expected.Deployed is null ? "either" : expected.Deployed.Value ? $"deployed × {expected.Allocations}" : "absent")}, found {state?.ToString() ?? "absent"}");
            if (expected.Deployed == true)
            {
                Assert.True(state is not null, $"{model}: an acknowledged start or update was lost");
                Assert.Equal(expected.Allocations, state.NumberOfAllocations);
                Assert.Equal(expected.Allocations, stored);
            }
            else if (expected.Deployed == false)
            {
                Assert.True(state is null, $"{model}: an acknowledged stop was undone: {state}");
                Assert.Null(stored);
                Assert.Empty(await cluster.RowsAsync("SELECT node FROM deployment_routes WHERE deployment_id = $1", model));
            }
        }
        foreach (var alias in operations.Where(o => o is { Kind: Kind.Alias, Acknowledged: true }))
        {
            Assert.Equal(1, await cluster.ScalarAsync<long>("SELECT count(*) FROM ml_ids WHERE id = $1 AND kind = 'alias' AND model_id = $2", alias.Target, aliasTargets[0]));
            var byAlias = (await observer.SendJsonAsync(HttpMethod.Get, $"/_ml/trained_models/{alias.Target}")).AssertOk().Body;
            Assert.Equal(aliasTargets[0], byAlias["trained_model_configs"]![0]!["model_id"]!.GetValue<string>());
        }

        // The invariants: no node oversubscribed; ids, aliases and routes consistent with each other.
        await MlApi.AssertNoNodeOversubscribedAsync(cluster.DataSource);
        Assert.Empty(await cluster.RowsAsync("""
            SELECT a.id FROM ml_ids a WHERE a.kind = 'alias'
            AND NOT EXISTS (SELECT 1 FROM ml_ids m WHERE m.id = a.model_id AND m.kind = 'model')
            """));
        Assert.Empty(await cluster.RowsAsync("""
            SELECT DISTINCT r.deployment_id FROM deployment_routes r WHERE NOT EXISTS (
                SELECT 1 FROM ml_deployments d WHERE d.deployment_id = r.deployment_id)
            """));
    }

    /// <summary>Replays a model's log: an acknowledged start/update/stop fixes the state; a failed one leaves it unknown.</summary>
    private static Expectation Expect(Expectation before, IEnumerable<Operation> operations)
    {
        var expected = before;
        foreach (var o in operations.OrderBy(o => o.Ended))
        {
            expected = (o.Kind, o.Acknowledged) switch
            {
                (Kind.Start, true) or (Kind.Update, true) => new Expectation(true, o.Allocations),
                (Kind.Stop, true) => new Expectation(false, 0),
                (Kind.Start or Kind.Update or Kind.Stop, false) => new Expectation(null, 0),
                _ => expected,
            };
        }
        return expected;
    }

    private static async Task RunWorkerAsync(int worker, string[] models, string[] aliasTargets, IOperations api, ConcurrentQueue<Operation> log,
        Stopwatch clock, TimeSpan streamEnd)
    {
        var random = new Random(worker + 1);
        // The worker's belief about each model: deployed (true), not (false), or unknown after a failure (null).
        var believed = models.ToDictionary(m => m, m => (bool?)(m == models[0] && worker == 0));
        for (var n = 0; n < MaxOperationsPerWorker && clock.Elapsed < streamEnd; n++)
        {
            var model = models[random.Next(models.Length)];
            var kind = random.Next(6) == 0
                ? Kind.Alias
                : believed[model] switch
                {
                    false => Kind.Start,
                    null => random.Next(2) == 0 ? Kind.Start : Kind.Stop,
                    true => WhenDeployed[random.Next(WhenDeployed.Length)],
                };
            var allocations = random.Next(1, 3);
            var target = kind == Kind.Alias ? $"alias-{worker}-{n}-{Guid.NewGuid():N}"[..24] + "x" : model;
            var started = clock.Elapsed;
            string? error;
            using (var bound = new CancellationTokenSource(OperationBound))
            {
                try
                {
                    error = kind switch
                    {
                        Kind.Start => await api.StartAsync(model, allocations, waitForStarted: random.Next(2) == 0, bound.Token),
                        Kind.Update => await api.UpdateAsync(model, allocations, bound.Token),
                        Kind.Stop => await api.StopAsync(model, bound.Token),
                        Kind.Alias => await api.PutAliasAsync(aliasTargets[0], target, bound.Token),
                        _ => await api.InferAsync(model, bound.Token),
                    };
                }
                catch (OperationCanceledException) when (bound.IsCancellationRequested)
                {
                    error = $"no answer within {OperationBound.TotalSeconds:0} s";
                }
                catch (TimeoutException) when (bound.IsCancellationRequested)
                {
                    error = $"no answer within {OperationBound.TotalSeconds:0} s";
                }
                catch (Exception e)
                {
                    error = $"{e.GetType().Name}: {e.Message}";
                }
            }
            log.Enqueue(new Operation(worker, kind, target, allocations, started, clock.Elapsed, error is null, error));
            await Task.Delay(Pause);
            believed[model] = (kind, error is null) switch
            {
                (Kind.Start or Kind.Update, true) => true,
                (Kind.Stop, true) => false,
                (Kind.Start or Kind.Update or Kind.Stop, false) => null,
                _ => believed[model],
            };
        }
    }

    private void Report(Operation[] operations, TimeSpan killedAt)
    {
        output.WriteLine($"{operations.Length} operations, kill at {killedAt.TotalSeconds:0.000} s");
        foreach (var group in operations.GroupBy(o => (o.Kind, o.Acknowledged)).OrderBy(g => g.Key.Kind))
            output.WriteLine($"  {group.Key.Kind,-6} {(group.Key.Acknowledged ? "acknowledged" : "failed"),-12} × {group.Count()}, longest {group.Max(o => (o.Ended - o.Started).TotalMilliseconds):0} ms");
        foreach (var failure in operations.Where(o => !o.Acknowledged).Take(12))
            output.WriteLine($"  failed {failure.Kind} {failure.Target} at {failure.Started.TotalSeconds:0.000}–{failure.Ended.TotalSeconds:0.000} s: {failure.Error}");
    }

    /// <summary>The operations a worker issues; each returns null when acknowledged, else the error.</summary>
    private interface IOperations
    {
        Task<string?> StartAsync(string model, int allocations, bool waitForStarted, CancellationToken cancellationToken);
        Task<string?> UpdateAsync(string model, int allocations, CancellationToken cancellationToken);
        Task<string?> StopAsync(string model, CancellationToken cancellationToken);
        Task<string?> PutAliasAsync(string model, string alias, CancellationToken cancellationToken);
        Task<string?> InferAsync(string model, CancellationToken cancellationToken);
    }

    /// <summary>Through the survivors' HTTP APIs, in turn.</summary>
    private sealed class HttpOperations(HttpClient[] nodes) : IOperations
    {
        private int _next;

        private HttpClient Next => nodes[_next++ % nodes.Length];

        public async Task<string?> StartAsync(string model, int allocations, bool waitForStarted, CancellationToken cancellationToken) =>
            Outcome(await Next.StartDeploymentAsync(model, $"number_of_allocations={allocations}&wait_for={(waitForStarted ? "started" : "starting")}", cancellationToken));

        public async Task<string?> UpdateAsync(string model, int allocations, CancellationToken cancellationToken) =>
            Outcome(await Next.UpdateDeploymentAsync(model, allocations, cancellationToken));

        public async Task<string?> StopAsync(string model, CancellationToken cancellationToken) =>
            Outcome(await Next.StopDeploymentAsync(model, "", cancellationToken));

        public async Task<string?> PutAliasAsync(string model, string alias, CancellationToken cancellationToken) =>
            Outcome(await Next.SendJsonAsync(HttpMethod.Put, $"/_ml/trained_models/{model}/model_aliases/{alias}", cancellationToken: cancellationToken));

        public async Task<string?> InferAsync(string model, CancellationToken cancellationToken) =>
            Outcome(await TinyModel.InferAsync(Next, model, [TinyModel.Row(model.Length)], cancellationToken));

        private static string? Outcome(Response response) =>
            (int)response.Status is >= 200 and < 300 ? null : $"{(int)response.Status}: {response.Text}";
    }

    /// <summary>Through the SDK's grain interfaces, over the survivors' gateways.</summary>
    private sealed class SdkOperations(IClusterClient client) : IOperations
    {
        public Task<string?> StartAsync(string model, int allocations, bool waitForStarted, CancellationToken cancellationToken) =>
            Run(client.GetGrain<IDeploymentGrain>(model).Start(new StartDeploymentRequest
            {
                ModelId = model, NumberOfAllocations = allocations, WaitFor = waitForStarted ? AllocationState.Started : AllocationState.Starting,
            }), cancellationToken);

        public Task<string?> UpdateAsync(string model, int allocations, CancellationToken cancellationToken) =>
            Run(client.GetGrain<IDeploymentGrain>(model).Update(new UpdateDeploymentRequest { DeploymentId = model, NumberOfAllocations = allocations }), cancellationToken);

        public Task<string?> StopAsync(string model, CancellationToken cancellationToken) =>
            Run(client.GetGrain<IDeploymentGrain>(model).Stop(new StopDeploymentRequest { DeploymentId = model }), cancellationToken);

        public Task<string?> PutAliasAsync(string model, string alias, CancellationToken cancellationToken) =>
            Run(client.GetGrain<IModelAliasGrain>(alias).Put(new PutModelAliasRequest { ModelId = model, ModelAlias = alias }), cancellationToken);

        public Task<string?> InferAsync(string model, CancellationToken cancellationToken) =>
            Run(client.GetGrain<IInferenceGrain>("stream").InferTensors(model, TinyModel.Docs(TinyModel.Row(model.Length))), cancellationToken);

        private static async Task<string?> Run(Task call, CancellationToken cancellationToken)
        {
            await call.WaitAsync(cancellationToken);
            return null;
        }
    }
}
