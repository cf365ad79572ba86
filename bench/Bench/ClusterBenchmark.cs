using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Npgsql;
using TrainedModelsOrleans.TestModels;

namespace TrainedModelsOrleans.Bench;

/// <summary>
/// Failover of a deployment when one of three silo processes (the real Silo executable, Orleans with ADO.NET
/// clustering on one PostgreSQL database and the product's membership settings) is killed with SIGKILL while a
/// survivor serves inference over HTTP. Grain calls between silos are measured by the runtime suite.
/// </summary>
public static class ClusterBenchmark
{
    private const int FailoverRounds = 3;
    private const int InferenceClients = 4;

    /// <summary>What the cluster tests allow Orleans to declare a killed silo dead with the product's membership settings (1 s probes, 3 missed, 2 votes).</summary>
    private static readonly TimeSpan DeathDetection = TimeSpan.FromSeconds(6);
    private static readonly TimeSpan NodeCheckInterval = TimeSpan.FromMilliseconds(500);

    /// <summary>Orleans' SiloStatus in orleansmembershiptable.status.</summary>
    private const int Active = 3, Dead = 6;

    public static Task RunAsync(Func<string, Task<string>> newDatabase, TextWriter output) => FailoverAsync(newDatabase, output);

    /// <summary>Kills every silo process still running (the bench's exit, normal or on a signal).</summary>

    private sealed record Outcome(TimeSpan At, bool Ok, string? Error);

    private sealed record FailoverResult(string Victim, double DeclaredDead, double Moved, double TableMoved, string Before, string After,
        int Ok, int Failed, double LongestGapMs, double LongestGapAt, double LoadSeconds);

    private static async Task FailoverAsync(Func<string, Task<string>> newDatabase, TextWriter output)
    {
        var table = new ResultTable($"Failover after kill -9 (3 Orleans silo processes × 2 processors, 6 allocations × 1 thread of the MLP, {InferenceClients} HTTP clients on a survivor; " +
                                    $"membership: 1 s probes, 3 missed, 2 votes; node check {NodeCheckInterval.TotalMilliseconds:0} ms)")
            .Columns("round", "killed", "declared dead s", "routes on survivors s", "routes table s", "goal ≤ s", "met", "inferences ok", "failed", "longest gap ms", "gap began s", "routes after");
        for (var round = 1; round <= FailoverRounds; round++)
        {
            // The victim changes each round: node-2, node-1, then node-0 (the node the deployment was started through).
            var victim = (FailoverRounds - round) % 3;
            Console.Error.WriteLine($"  failover round {round}/{FailoverRounds}: starting 3 silo processes, killing node-{victim} ...");
            try
            {
                var result = await FailoverRoundAsync(await newDatabase($"cluster_failover_{round}"), round, victim);
                var goal = DeathDetection.TotalSeconds + 2;
                table.Row(round.ToString(CultureInfo.InvariantCulture), result.Victim, result.DeclaredDead, result.Moved, result.TableMoved, goal, result.Moved <= goal ? "yes" : "no",
                    result.Ok, result.Failed, result.LongestGapMs, result.LongestGapAt.ToString("+0.00;-0.00", CultureInfo.InvariantCulture), result.After);
                Console.Error.WriteLine($"    before: {result.Before}; after: {result.After}; declared dead +{result.DeclaredDead:0.00} s, moved +{result.Moved:0.00} s (table +{result.TableMoved:0.00} s), " +
                                        $"{result.Ok} ok / {result.Failed} failed over {result.LoadSeconds:0.0} s, longest gap {result.LongestGapMs:0} ms at {result.LongestGapAt:+0.00;-0.00} s");
            }
            catch (Exception e)
            {
                Console.Error.WriteLine($"    round {round} failed: {e}");
                table.Row(round.ToString(CultureInfo.InvariantCulture), $"node-{victim}", "-", "-", "-", "-", "error", "-", "-", "-", "-", $"{e.GetType().Name}: {FirstLine(e.Message)}");
            }
        }
        table.Print(output);
        output.WriteLine();
        output.WriteLine($"Goal: allocations serving again on the survivors within the death detection the cluster tests allow + 2 s ({DeathDetection.TotalSeconds + 2:0} s) of the kill. " +
                         "\"declared dead\": the victim's newest generation has status 6 (Dead) in orleansmembershiptable. " +
                         "\"routes on survivors\": the survivor's _stats lists no route on the dead node and every allocation started on the survivors; \"routes table\": the same in deployment_routes (each polled every 50 ms by its own poller; a time is when the poll that first saw it returned). " +
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
            // Uploaded and started through node-0's API; Orleans places the deployment's grains where its placement says.
            using (var control = BenchSecurity.Client(silos[0].BaseAddress, TimeSpan.FromSeconds(60)))
            {
                await BenchHttp.UploadAsync(control, model, TestOnnxModels.Mlp());
                await BenchHttp.EnsureAsync(await control.PostAsync($"/_ml/trained_models/{model}/deployment/_start?number_of_allocations=6&threads_per_allocation=1&wait_for=started", null));
            }
            using var http = BenchSecurity.Client(survivors[0].BaseAddress, TimeSpan.FromSeconds(60));
            Routes? routes = null;
            await WaitUntilAsync(async () => (routes = await RoutesAsync(http, model)) is { } r && r.AllStarted && r.Nodes.Count == 3 && r.Allocations == 6,
                TimeSpan.FromSeconds(60), () => $"the deployment did not reach 2 allocations on every node (last: {routes})", silos);
            var before = routes!.ToString();

            var clock = Stopwatch.StartNew();
            var outcomes = new ConcurrentQueue<Outcome>();
            using var stopLoad = new CancellationTokenSource();
            using var inference = BenchSecurity.Client(survivors[0].BaseAddress, TimeSpan.FromSeconds(15));
            var load = Enumerable.Range(0, InferenceClients).Select(c => Task.Run(() => InferLoopAsync(inference, model, c, clock, outcomes, stopLoad.Token))).ToArray();
            await Task.Delay(TimeSpan.FromSeconds(2));

            victim.Kill();
            var killedAt = clock.Elapsed;
            Console.Error.WriteLine($"    killed {victim.Name} (SIGKILL) at {killedAt.TotalSeconds:0.00} s");
            var survivorNames = survivors.Select(s => s.Name).ToHashSet();
            var expected = Math.Min(6, survivors.Length * 2);
            Routes? tableRoutes = null;
            // Three pollers side by side (each every 50 ms), so that a slow one does not delay when another sees its event.
            var bound = DeathDetection + TimeSpan.FromSeconds(30);
            async Task<TimeSpan> FirstSeenAsync(Func<Task<bool>> condition, Func<string> what)
            {
                await WaitUntilAsync(condition, bound, what, silos, PollInterval);
                return clock.Elapsed;
            }
            var declaredDead = FirstSeenAsync(() => DeclaredDeadAsync(dataSource, victim.Name), () => $"{victim.Name} was not declared dead");
            var moved = FirstSeenAsync(async () =>
            {
                routes = await RoutesAsync(http, model);
                return routes is { AllStarted: true } r && r.Nodes.Keys.All(survivorNames.Contains) && r.Allocations == expected;
            }, () => $"_stats did not show the allocations on the survivors (last: {routes})");
            var tableMoved = FirstSeenAsync(async () =>
            {
                tableRoutes = await TableRoutesAsync(dataSource, model);
                return tableRoutes.Nodes.Count > 0 && tableRoutes.Nodes.Values.All(n => n is { RoutingState: "started", Allocations: > 0 })
                       && tableRoutes.Nodes.Keys.All(survivorNames.Contains) && tableRoutes.Allocations == expected;
            }, () => $"deployment_routes did not show the allocations on the survivors (last: {tableRoutes})");
            await Task.WhenAll(declaredDead, moved, tableMoved);
            var (declaredDeadAt, movedAt, tableMovedAt) = (declaredDead.Result, moved.Result, tableMoved.Result);

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
            return new FailoverResult(victim.Name, (declaredDeadAt - killedAt).TotalSeconds, (movedAt - killedAt).TotalSeconds,
                (tableMovedAt - killedAt).TotalSeconds, before, routes!.ToString(),
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

    /// <summary>A deployment's rows in deployment_routes (the relational mirror of its routing table).</summary>
    private static async Task<Routes> TableRoutesAsync(NpgsqlDataSource dataSource, string deployment)
    {
        await using var command = dataSource.CreateCommand("SELECT node, routing_state, current_allocations FROM deployment_routes WHERE deployment_id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = deployment });
        await using var reader = await command.ExecuteReaderAsync();
        var nodes = new Dictionary<string, (string, int)>();
        while (await reader.ReadAsync()) nodes[reader.GetString(0)] = (reader.GetString(1), reader.GetInt32(2));
        return new Routes("table", nodes);
    }

    /// <summary>
    /// Every silo's newest generation is Active (3) in Orleans' membership table (Orleans admits a silo only once it
    /// reached every active peer) and the node is part of the ML plan (node_capacity).
    /// </summary>
    private static async Task<bool> FormedAsync(NpgsqlDataSource dataSource, string[] names)
    {
        await using var command = dataSource.CreateCommand($"""
            SELECT (SELECT count(*) FROM (SELECT DISTINCT ON (siloname) siloname, status FROM orleansmembershiptable WHERE siloname = ANY($1)
                                          ORDER BY siloname, generation DESC) newest WHERE status = {Active})
                 + (SELECT count(*) FROM node_capacity WHERE node = ANY($1))
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = names });
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture) == names.Length * 2;
    }

    /// <summary>Orleans has declared the silo's newest generation Dead (6).</summary>
    private static async Task<bool> DeclaredDeadAsync(NpgsqlDataSource dataSource, string name)
    {
        await using var command = dataSource.CreateCommand("SELECT status FROM orleansmembershiptable WHERE siloname = $1 ORDER BY generation DESC LIMIT 1");
        command.Parameters.Add(new NpgsqlParameter { Value = name });
        return await command.ExecuteScalarAsync() is int status && status == Dead;
    }

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan bound, Func<string> what, IEnumerable<SiloProcess> silos, TimeSpan? interval = null)
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
            await Task.Delay(interval ?? TimeSpan.FromMilliseconds(100));
        }
    }

    private static string FirstLine(string text)
    {
        var line = text.Split('\n')[0];
        return line.Length > 200 ? line[..200] + "…" : line;
    }

    /// <summary>A silo process (the real Silo executable of the bench output folder), killed with SIGKILL by the bench.</summary>
    private sealed class SiloProcess(BenchProcess process, Uri baseAddress) : IAsyncDisposable
    {
        public string Name => process.Name;
        public Uri BaseAddress { get; } = baseAddress;

        public static SiloProcess Launch(string name, string connectionString, string dataDirectory)
        {
            var baseAddress = new Uri($"http://127.0.0.1:{BenchPorts.Free()}");
            string[] arguments =
            [
                Path.Combine(AppContext.BaseDirectory, "TrainedModelsOrleans.Silo.dll"),
                $"--Urls={baseAddress}", .. BenchSecurity.Arguments, $"--ConnectionStrings:Postgres={connectionString}", $"--Node:Name={name}",
                $"--Node:SiloPort={BenchPorts.Free()}", $"--Node:GatewayPort={BenchPorts.Free()}", "--Node:Processors=2",
                "--Node:MemoryBytes=17179869184", $"--Ml:NodeCheckInterval={NodeCheckInterval:c}",
                $"--DataDirectory={dataDirectory}", "--Logging:LogLevel:Default=Warning",
            ];
            return new SiloProcess(BenchProcess.Start(name, "dotnet", arguments, AppContext.BaseDirectory), baseAddress);
        }

        public Task WaitUntilAnsweringAsync(TimeSpan bound) => BenchHttp.WaitUntilAnsweringAsync(BaseAddress, process, bound);

        /// <summary>SIGKILL: no shutdown code runs; peers learn of it only through the death timeout.</summary>
        public void Kill() => process.Kill();

        public string OutputTail(int lines = 20) => process.OutputTail(lines);

        public ValueTask DisposeAsync() => process.DisposeAsync();
    }
}
