using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using TrainedModelsOrleans.Runtime.Client;
using TrainedModelsOrleans.Runtime.Cluster;
using TrainedModelsOrleans.Runtime.Configuration;
using TrainedModelsOrleans.Runtime.Persistence;
using TrainedModelsOrleans.Runtime.Storage;
using TrainedModelsOrleans.TestModels;
using RuntimeSilo = TrainedModelsOrleans.Runtime.Hosting.Silo;

namespace TrainedModelsOrleans.Bench;

/// <summary>
/// The cluster: (1) grain calls between two in-process silos over the loopback transport, next to the same
/// calls made locally and through the client SDK; (2) failover of a deployment when one of three silo
/// processes is killed with SIGKILL while a survivor serves inference over HTTP.
/// </summary>
public static class ClusterBenchmark
{
    private const int Grains = 64;
    private const int FailoverRounds = 3;
    private const int InferenceClients = 4;
    private static readonly TimeSpan DeathTimeout = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan HeartbeatPeriod = TimeSpan.FromMilliseconds(500);

    public static async Task RunAsync(Func<string, Task<string>> newDatabase, TimeSpan duration, TextWriter output)
    {
        await RemoteCallsAsync(await newDatabase("cluster_calls"), duration, output);
        await FailoverAsync(newDatabase, output);
    }

    private static Task<LoadLoop.Run> MeasureAsync(ISiloPingGrain[] grains, int callers, TimeSpan duration) =>
        LoadLoop.RunAsync(grains.Select(g => (Func<Task>)(() => g.Ping(1))).ToArray(), callers, duration);

    private static async Task RemoteCallsAsync(string connectionString, TimeSpan duration, TextWriter output)
    {
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        await SchemaMigrator.ApplyAsync(dataSource, Path.Combine(AppContext.BaseDirectory, "db"), NullLogger.Instance, CancellationToken.None);
        var (a, aServices) = await StartSiloAsync(dataSource, $"bench-a-{Environment.ProcessId}");
        var (b, bServices) = await StartSiloAsync(dataSource, $"bench-b-{Environment.ProcessId}");
        try
        {
            var keys = Enumerable.Range(0, Grains).Select(i => $"remote-{i}-{Guid.NewGuid():N}").ToArray();
            // Placement is on the calling silo: the first call, from B, puts every grain on B.
            var onB = keys.Select(k => b.GetGrain<ISiloPingGrain>(k)).ToArray();
            var fromA = keys.Select(k => a.GetGrain<ISiloPingGrain>(k)).ToArray();
            await ExpectSiloAsync(onB, b.Identity.Name, "called on B");
            await ExpectSiloAsync(fromA, b.Identity.Name, "called from A (must cross the transport)");

            await using var viaA = await ConnectClientAsync(a.Address);
            await using var viaB = await ConnectClientAsync(b.Address);
            var clientViaA = keys.Select(k => viaA.GetGrain<ISiloPingGrain>(k)).ToArray();
            var clientViaB = keys.Select(k => viaB.GetGrain<ISiloPingGrain>(k)).ToArray();
            await ExpectSiloAsync(clientViaA, b.Identity.Name, "through gateway A");
            await ExpectSiloAsync(clientViaB, b.Identity.Name, "through gateway B");
            var activationsOnA = a.ActivationCount;
            if (activationsOnA != 0) throw new InvalidOperationException($"silo A holds {activationsOnA} activations: some calls did not go to B.");

            // Cold runs are much slower (JIT, tiering, first frames on each connection).
            Console.Error.WriteLine("  warming up ...");
            var warmUp = TimeSpan.FromSeconds(1.5);
            await MeasureAsync(fromA, 64, warmUp);
            await MeasureAsync(onB, 64, warmUp);
            await MeasureAsync(clientViaA, 64, warmUp / 2);
            await MeasureAsync(clientViaB, 64, warmUp / 2);

            var table = new ResultTable($"Grain calls between two silos over loopback TCP ({Environment.ProcessorCount} cores, both silos in one process, {duration.TotalSeconds:0.#} s per row, {Grains} grains on silo B)")
                .Columns("path", "callers", "calls/s", "p50 µs", "p99 µs", "samples", "remote/local calls/s");
            var runs = new List<(string Path, int Callers, LoadLoop.Run Run)>();
            foreach (var callers in new[] { 1, 16, 64, 256 })
            {
                Console.Error.WriteLine($"  {callers} callers: remote A → B, then local on B ...");
                runs.Add(("remote: silo A → silo B", callers, await MeasureAsync(fromA, callers, duration)));
                runs.Add(("local: on silo B", callers, await MeasureAsync(onB, callers, duration)));
            }
            Console.Error.WriteLine("  client SDK: via gateway A (two hops), via gateway B (one hop) ...");
            runs.Add(("client → gateway A → silo B (2 hops)", 64, await MeasureAsync(clientViaA, 64, duration)));
            runs.Add(("client → gateway B (1 hop)", 64, await MeasureAsync(clientViaB, 64, duration)));

            foreach (var (path, callers, run) in runs)
            {
                var local = runs.First(r => r.Path.StartsWith("local", StringComparison.Ordinal) && r.Callers == callers).Run;
                var ratio = ReferenceEquals(run, local) ? "-" : (run.Rate / local.Rate).ToString("0.00", CultureInfo.InvariantCulture);
                table.Row(path, callers, run.Rate, run.Samples.PercentileMicros(0.5), run.Samples.PercentileMicros(0.99), run.Samples.Count, ratio);
            }
            table.Print(output);
            output.WriteLine();
            var remote = runs.Where(r => r.Path.StartsWith("remote", StringComparison.Ordinal)).ToArray();
            var meeting = remote.Where(r => r.Run.Rate >= 50_000 && r.Run.P50 < 200).Select(r => $"{r.Callers} callers ({r.Run.Rate:N0} calls/s, p50 {r.Run.P50:0} µs)").ToArray();
            output.WriteLine($"Goal: >= 50,000 remote calls/s with p50 < 200 µs: {(meeting.Length > 0 ? "met at " + string.Join(", ", meeting) : "missed")}; " +
                             $"sequential remote p50 {remote[0].Run.P50:0} µs.");
            output.WriteLine($"Every grain answered with silo B's name from A, from B and from both gateways; silo A held {activationsOnA} activations.");
        }
        finally
        {
            await a.DisposeAsync();
            await b.DisposeAsync();
            await aServices.DisposeAsync();
            await bServices.DisposeAsync();
        }
    }

    private static async Task<(RuntimeSilo Silo, ServiceProvider Services)> StartSiloAsync(NpgsqlDataSource dataSource, string name)
    {
        var services = new ServiceCollection().AddSingleton(new BenchSiloName(name)).BuildServiceProvider();
        var silo = new RuntimeSilo(dataSource, new GrainStorage(dataSource), services, new GrainRuntimeOptions(),
            new SiloOptions { SiloName = name, Address = "127.0.0.1:0" }, [typeof(ClusterBenchmark).Assembly],
            NullLogger<RuntimeSilo>.Instance, RuntimeExceptionCodecs.Serializer(null, null));
        await silo.StartAsync(CancellationToken.None);
        return (silo, services);
    }

    private static async Task<ClusterClient> ConnectClientAsync(string gateway)
    {
        var client = new ClusterClient(new ClusterClientOptions { Gateways = { gateway } }, RuntimeExceptionCodecs.Serializer(null, null));
        await client.ConnectAsync();
        return client;
    }

    private static async Task ExpectSiloAsync(ISiloPingGrain[] grains, string silo, string how)
    {
        foreach (var grain in grains)
        {
            var where = await grain.Silo();
            if (where != silo) throw new InvalidOperationException($"{grain} {how} runs on {where}, not on {silo}.");
        }
    }

    private sealed record Outcome(TimeSpan At, bool Ok, string? Error);

    private sealed record FailoverResult(string Victim, double DeclaredDead, double Moved, string Before, string After,
        int Ok, int Failed, double LongestGapMs, double LongestGapAt, double LoadSeconds);

    private static async Task FailoverAsync(Func<string, Task<string>> newDatabase, TextWriter output)
    {
        var table = new ResultTable($"Failover after kill -9 (3 silo processes × 2 processors, 6 allocations × 1 thread of the MLP, {InferenceClients} HTTP clients on a survivor; " +
                                    $"death timeout {DeathTimeout.TotalSeconds:0} s, heartbeat {HeartbeatPeriod.TotalMilliseconds:0} ms)")
            .Columns("round", "killed", "declared dead s", "routes on survivors s", "goal ≤ s", "met", "inferences ok", "failed", "longest gap ms", "gap began s", "routes after");
        for (var round = 1; round <= FailoverRounds; round++)
        {
            // The victim changes each round; node-0, killed last, holds the deployment's coordinator (it was started there).
            var victim = (FailoverRounds - round) % 3;
            Console.Error.WriteLine($"  failover round {round}/{FailoverRounds}: starting 3 silo processes, killing node-{victim} ...");
            try
            {
                var result = await FailoverRoundAsync(await newDatabase($"cluster_failover_{round}"), round, victim);
                var goal = DeathTimeout.TotalSeconds + 2;
                table.Row(round.ToString(CultureInfo.InvariantCulture), result.Victim, result.DeclaredDead, result.Moved, goal, result.Moved <= goal ? "yes" : "no",
                    result.Ok, result.Failed, result.LongestGapMs, result.LongestGapAt.ToString("+0.00;-0.00", CultureInfo.InvariantCulture), result.After);
                Console.Error.WriteLine($"    before: {result.Before}; after: {result.After}; declared dead +{result.DeclaredDead:0.00} s, moved +{result.Moved:0.00} s, " +
                                        $"{result.Ok} ok / {result.Failed} failed over {result.LoadSeconds:0.0} s, longest gap {result.LongestGapMs:0} ms at {result.LongestGapAt:+0.00;-0.00} s");
            }
            catch (Exception e)
            {
                Console.Error.WriteLine($"    round {round} failed: {e}");
                table.Row(round.ToString(CultureInfo.InvariantCulture), $"node-{victim}", "-", "-", "-", "error", "-", "-", "-", "-", $"{e.GetType().Name}: {FirstLine(e.Message)}");
            }
        }
        table.Print(output);
        output.WriteLine();
        output.WriteLine($"Goal: allocations serving again on the survivors within the death timeout + 2 s ({DeathTimeout.TotalSeconds + 2:0} s) of the kill. " +
                         "\"routes on survivors\": the survivor's _stats lists no route on the dead node and every allocation started on the survivors (polled every 100 ms). " +
                         "\"longest gap\": the longest time between two successful inferences over the whole load (2 s before the kill to 3 s after the move); \"gap began\": when it began, in seconds from the kill. " +
                         "Times in seconds from the SIGKILL.");
    }

    private static async Task<FailoverResult> FailoverRoundAsync(string connectionString, int round, int victimIndex)
    {
        var folder = Path.Combine(Path.GetTempPath(), "tmo-bench", "cluster-" + Guid.NewGuid().ToString("N"));
        var silos = new List<SiloProcess>();
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        try
        {
            for (var i = 0; i < 3; i++) silos.Add(SiloProcess.Launch($"node-{i}", connectionString, Path.Combine(folder, $"node-{i}")));
            await Task.WhenAll(silos.Select(s => s.WaitUntilAnsweringAsync(TimeSpan.FromSeconds(120))));
            await WaitUntilAsync(() => FormedAsync(dataSource, silos.Select(s => s.Name).ToArray()), TimeSpan.FromSeconds(60), () => "the cluster did not form", silos);

            var victim = silos[victimIndex];
            var survivors = silos.Where(s => s != victim).ToArray();
            var model = $"bench-failover-{round}";
            // Started through node-0, so the deployment's coordinator lives there (placement is on the calling silo).
            using (var control = new HttpClient { BaseAddress = silos[0].BaseAddress, Timeout = TimeSpan.FromSeconds(60) })
            {
                await BenchHttp.UploadAsync(control, model, TestOnnxModels.Mlp());
                await BenchHttp.EnsureAsync(await control.PostAsync($"/_ml/trained_models/{model}/deployment/_start?number_of_allocations=6&threads_per_allocation=1&wait_for=started", null));
            }
            using var http = new HttpClient { BaseAddress = survivors[0].BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
            Routes? routes = null;
            await WaitUntilAsync(async () => (routes = await RoutesAsync(http, model)) is { } r && r.AllStarted && r.Nodes.Count == 3 && r.Allocations == 6,
                TimeSpan.FromSeconds(60), () => $"the deployment did not reach 2 allocations on every node (last: {routes})", silos);
            var before = routes!.ToString();

            var clock = Stopwatch.StartNew();
            var outcomes = new ConcurrentQueue<Outcome>();
            using var stopLoad = new CancellationTokenSource();
            using var inference = new HttpClient { BaseAddress = survivors[0].BaseAddress, Timeout = TimeSpan.FromSeconds(15) };
            var load = Enumerable.Range(0, InferenceClients).Select(c => Task.Run(() => InferLoopAsync(inference, model, c, clock, outcomes, stopLoad.Token))).ToArray();
            await Task.Delay(TimeSpan.FromSeconds(2));

            victim.Kill();
            var killedAt = clock.Elapsed;
            Console.Error.WriteLine($"    killed {victim.Name} (SIGKILL) at {killedAt.TotalSeconds:0.00} s");
            TimeSpan? declaredDeadAt = null;
            var survivorNames = survivors.Select(s => s.Name).ToHashSet();
            var survivorCapacity = survivors.Length * 2;
            await WaitUntilAsync(async () =>
            {
                if (declaredDeadAt is null && await DeclaredDeadAsync(dataSource, victim.Name)) declaredDeadAt = clock.Elapsed;
                routes = await RoutesAsync(http, model);
                return routes is { AllStarted: true } r && r.Nodes.Keys.All(survivorNames.Contains) && r.Allocations == Math.Min(6, survivorCapacity);
            }, DeathTimeout + TimeSpan.FromSeconds(30), () => $"the allocations did not move to the survivors (last: {routes})", silos);
            var movedAt = clock.Elapsed;
            await WaitUntilAsync(async () =>
            {
                if (declaredDeadAt is null && await DeclaredDeadAsync(dataSource, victim.Name)) declaredDeadAt = clock.Elapsed;
                return declaredDeadAt is not null;
            }, TimeSpan.FromSeconds(10), () => $"{victim.Name} was not declared dead", silos);

            // Keep the load on a little after the move, so a late failure or gap shows.
            await Task.Delay(TimeSpan.FromSeconds(3));
            await stopLoad.CancelAsync();
            await Task.WhenAll(load).WaitAsync(TimeSpan.FromSeconds(30));
            var loadEnd = clock.Elapsed;

            var all = outcomes.OrderBy(o => o.At).ToArray();
            var ok = all.Where(o => o.Ok).Select(o => o.At).ToArray();
            var failures = all.Where(o => !o.Ok).ToArray();
            foreach (var failure in failures.Take(5))
                Console.Error.WriteLine($"    failed at +{(failure.At - killedAt).TotalSeconds:0.000} s after the kill: {failure.Error}");
            if (ok.Length == 0) throw new InvalidOperationException("no inference succeeded");
            // Gaps between consecutive successes, and from the last success to the end of the load (a stall that never recovered).
            var gaps = ok.Zip(ok.Skip(1), (x, y) => (Start: x, Length: y - x)).Append((Start: ok[^1], Length: loadEnd - ok[^1]));
            var longest = gaps.MaxBy(g => g.Length);
            return new FailoverResult(victim.Name, ((declaredDeadAt ?? movedAt) - killedAt).TotalSeconds, (movedAt - killedAt).TotalSeconds, before, routes!.ToString(),
                ok.Length, failures.Length, longest.Length.TotalMilliseconds, (longest.Start - killedAt).TotalSeconds, loadEnd.TotalSeconds);
        }
        finally
        {
            foreach (var silo in silos) await silo.DisposeAsync();
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    private static async Task InferLoopAsync(HttpClient http, string model, int client, Stopwatch clock, ConcurrentQueue<Outcome> outcomes, CancellationToken stop)
    {
        var random = new Random(client);
        var data = string.Join(',', Enumerable.Range(0, 64).Select(_ => random.NextSingle().ToString("R", CultureInfo.InvariantCulture)));
        var body = $$$"""{"docs":[{"tensor":{"shape":[1,64],"data":[{{{data}}}]}}]}""";
        while (!stop.IsCancellationRequested)
        {
            try
            {
                using var response = await http.PostAsync($"/_ml/trained_models/{model}/_infer", new StringContent(body, Encoding.UTF8, "application/json"), CancellationToken.None);
                if (response.IsSuccessStatusCode) outcomes.Enqueue(new Outcome(clock.Elapsed, true, null));
                else outcomes.Enqueue(new Outcome(clock.Elapsed, false, $"{(int)response.StatusCode}: {FirstLine(await response.Content.ReadAsStringAsync(CancellationToken.None))}"));
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                outcomes.Enqueue(new Outcome(clock.Elapsed, false, $"{e.GetType().Name}: {e.Message}"));
            }
        }
    }

    /// <summary>A deployment's routes as a node's <c>GET _ml/trained_models/&lt;id&gt;/_stats</c> shows them; a route on a node that is no longer a member prints without "node".</summary>
    private sealed record Routes(string State, IReadOnlyDictionary<string, (string RoutingState, int Allocations)> Nodes)
    {
        public bool AllStarted => State == "started" && Nodes.Count > 0 && Nodes.Values.All(n => n is { RoutingState: "started", Allocations: > 0 });
        public int Allocations => Nodes.Values.Sum(n => n.Allocations);
        public override string ToString() => $"{State}: {string.Join(", ", Nodes.OrderBy(n => n.Key, StringComparer.Ordinal).Select(n => $"{n.Key}={n.Value.RoutingState}/{n.Value.Allocations}"))}";
    }

    private static async Task<Routes?> RoutesAsync(HttpClient http, string model)
    {
        using var response = await http.GetAsync($"/_ml/trained_models/{model}/_stats");
        await BenchHttp.EnsureAsync(response);
        var stats = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        var deployment = stats["trained_model_stats"]!.AsArray().Select(s => s!["deployment_stats"]).OfType<JsonObject>()
            .FirstOrDefault(d => (string?)d["deployment_id"] == model);
        if (deployment is null) return null;
        var nodes = new Dictionary<string, (string, int)>();
        foreach (var node in deployment["nodes"]!.AsArray())
        {
            var name = node!["node"] is JsonObject described && described.Count == 1 ? described.Single().Key : $"(no longer a member #{nodes.Count})";
            nodes[name] = ((string?)node["routing_state"]?["routing_state"] ?? "?", (int?)node["number_of_allocations"] ?? 0);
        }
        return new Routes((string?)deployment["state"] ?? "?", nodes);
    }

    private static async Task<bool> FormedAsync(NpgsqlDataSource dataSource, string[] names)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT (SELECT count(*) FROM (SELECT DISTINCT ON (silo_id) silo_id, status FROM silos WHERE silo_id = ANY($1)
                                          ORDER BY silo_id, generation DESC) newest WHERE status = 'active')
                 + (SELECT count(*) FROM node_capacity WHERE node = ANY($1))
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = names });
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture) == names.Length * 2;
    }

    private static async Task<bool> DeclaredDeadAsync(NpgsqlDataSource dataSource, string name)
    {
        await using var command = dataSource.CreateCommand("SELECT status FROM silos WHERE silo_id = $1 ORDER BY generation DESC LIMIT 1");
        command.Parameters.Add(new NpgsqlParameter { Value = name });
        return await command.ExecuteScalarAsync() is "dead";
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan bound, Func<string> what, IEnumerable<SiloProcess> silos)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(bound.TotalSeconds * Stopwatch.Frequency);
        Exception? last = null;
        while (true)
        {
            try
            {
                if (await condition()) return;
                last = null;
            }
            catch (Exception e) when (e is NpgsqlException or HttpRequestException or TaskCanceledException or InvalidOperationException)
            {
                last = e;
            }
            if (Stopwatch.GetTimestamp() > deadline)
                throw new TimeoutException($"{what()} within {bound.TotalSeconds:0} s{(last is null ? "" : $" (last error: {last.Message})")}\n" +
                                           string.Join('\n', silos.Select(s => s.OutputTail())));
            await Task.Delay(100);
        }
    }

    private static string FirstLine(string text)
    {
        var line = text.Split('\n')[0];
        return line.Length > 200 ? line[..200] + "…" : line;
    }

    /// <summary>A silo process (the real Silo executable of the bench output folder), killed with SIGKILL by the bench.</summary>
    private sealed class SiloProcess : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly Queue<string> _lines = new();
        private PosixSignalRegistration[] _signals = [];

        private SiloProcess(string name, Uri baseAddress, Process process)
        {
            Name = name;
            BaseAddress = baseAddress;
            _process = process;
        }

        public string Name { get; }
        public Uri BaseAddress { get; }

        public static SiloProcess Launch(string name, string connectionString, string dataDirectory)
        {
            var baseAddress = new Uri($"http://127.0.0.1:{FreePort()}");
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = AppContext.BaseDirectory };
            start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "TrainedModelsOrleans.Silo.dll"));
            foreach (var arg in new[]
                     {
                         $"--Urls={baseAddress}", $"--ConnectionStrings:Postgres={connectionString}", $"--Node:Name={name}",
                         $"--Node:TransportPort={FreePort()}", "--Node:Processors=2",
                         $"--Cluster:DeathTimeout={DeathTimeout:c}", $"--Cluster:HeartbeatPeriod={HeartbeatPeriod:c}", $"--Ml:NodeCheckInterval={HeartbeatPeriod:c}",
                         $"--DataDirectory={dataDirectory}", "--Logging:LogLevel:Default=Warning",
                     })
                start.ArgumentList.Add(arg);
            var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {name}");
            var silo = new SiloProcess(name, baseAddress, process);
            // Should the bench itself be stopped (Ctrl-C, SIGTERM), its silos go with it: no finally block runs then.
            silo._signals = [PosixSignalRegistration.Create(PosixSignal.SIGINT, silo.KillOnSignal), PosixSignalRegistration.Create(PosixSignal.SIGTERM, silo.KillOnSignal)];
            process.OutputDataReceived += (_, e) => silo.Keep(e.Data);
            process.ErrorDataReceived += (_, e) => silo.Keep(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return silo;
        }

        public async Task WaitUntilAnsweringAsync(TimeSpan bound)
        {
            using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(2) };
            var deadline = Stopwatch.GetTimestamp() + (long)(bound.TotalSeconds * Stopwatch.Frequency);
            while (Stopwatch.GetTimestamp() < deadline)
            {
                if (_process.HasExited) throw new InvalidOperationException($"{Name} exited with {_process.ExitCode} before answering\n{OutputTail()}");
                try
                {
                    using var response = await http.GetAsync("/");
                    if (response.IsSuccessStatusCode) return;
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { }
                await Task.Delay(100);
            }
            throw new TimeoutException($"{Name} did not answer on {BaseAddress} within {bound.TotalSeconds:0} s\n{OutputTail()}");
        }

        /// <summary>SIGKILL: no shutdown code runs; peers learn of it only through the death timeout.</summary>
        public void Kill() => _process.Kill(entireProcessTree: false);

        public string OutputTail(int lines = 20)
        {
            lock (_lines)
                return $"--- last output of {Name} (pid {_process.Id}{(_process.HasExited ? $", exited {_process.ExitCode}" : "")}) ---\n{string.Join('\n', _lines.Skip(Math.Max(0, _lines.Count - lines)))}";
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var signal in _signals) signal.Dispose();
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            }
            _process.Dispose();
        }

        private void KillOnSignal(PosixSignalContext context)
        {
            try { _process.Kill(entireProcessTree: true); }
            catch (InvalidOperationException) { }
        }

        private void Keep(string? line)
        {
            if (line is null) return;
            lock (_lines)
            {
                if (_lines.Count == 200) _lines.Dequeue();
                _lines.Enqueue(line);
            }
        }

        private static int FreePort()
        {
            var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
            listener.Start();
            var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
            listener.Stop();
            return port;
        }
    }
}
