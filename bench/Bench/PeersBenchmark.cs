using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using TrainedModelsOrleans.TestModels;

namespace TrainedModelsOrleans.Bench;

/// <summary>
/// Issue 11: the service's <c>_infer</c> for the tiny MLP against what a user would write in an afternoon (a Node.js
/// server over onnxruntime-node, 2 worker processes) and against Kestrel alone (parse the same body, answer a fixed
/// JSON). One load generator for all three, <c>wrk</c> in its own process (1 thread, keep-alive), in alternating rounds.
/// </summary>
public static class PeersBenchmark
{
    private const int Rounds = 5;
    private const string ModelId = "peers-mlp";
    private static readonly int[] Connections = [64, 16];

    /// <summary>A server under test; <paramref name="ProcessId"/> is its process (with its children), whose CPU time is counted.</summary>
    private sealed record Contestant(string Name, Uri InferUrl, int ProcessId);

    /// <summary>One wrk run: req/s, p50 and p99 in µs, the requests answered, the contestant's CPU µs per request, and wrk's own.</summary>
    private sealed record WrkRun(double Rate, double P50, double P99, long Requests, double CpuPerRequest, double WrkCpuPerRequest);

    /// <summary>Warm-up per contestant before the rounds: .NET's tiered JIT (and V8's optimiser) settle under load.</summary>
    private static readonly TimeSpan WarmUp = TimeSpan.FromSeconds(12);

    /// <summary>The model every contestant serves: the tiny MLP (the serving path is everything) or the ~1 ms one (the model is).</summary>
    public sealed record PeerModel(string Name, int Width, Func<byte[]> Bytes)
    {
        public static PeerModel Parse(string name) => name switch
        {
            "tiny" => new("tiny MLP", 64, () => TestOnnxModels.Mlp()),
            "medium" => new("~1 ms MLP", TestOnnxModels.MediumLayers[0], () => TestOnnxModels.Medium()),
            _ => throw new ArgumentException($"unknown model [{name}]: tiny or medium"),
        };
    }

    /// <summary>
    /// A garbage collector setting for the service process (environment variables the runtime reads at start).
    /// "default" is what the silo's own runtimeconfig says (Server GC, with .NET 10's DATAS).
    /// </summary>
    public sealed record GcMode(string Name, IReadOnlyDictionary<string, string> Environment)
    {
        public static readonly GcMode Default = new("default", new Dictionary<string, string>());

        public static GcMode Parse(string name) => name switch
        {
            "default" => Default,
            // Server GC with dynamic adaptation (DATAS, .NET 10's default for Server GC): heaps grow with the load.
            "datas" => new(name, new Dictionary<string, string> { ["DOTNET_gcServer"] = "1", ["DOTNET_GCDynamicAdaptationMode"] = "1" }),
            // Server GC as before .NET 8: one heap per core from the start.
            "server" => new(name, new Dictionary<string, string> { ["DOTNET_gcServer"] = "1", ["DOTNET_GCDynamicAdaptationMode"] = "0" }),
            "workstation" => new(name, new Dictionary<string, string> { ["DOTNET_gcServer"] = "0", ["DOTNET_gcConcurrent"] = "1" }),
            // The silo's default with GCConserveMemory (0-9; 5: compact the large object heap when fragmentation passes 50%).
            "conserve" => new(name, new Dictionary<string, string> { ["DOTNET_GCConserveMemory"] = "5" }),
            "workstation-conserve" => new(name, new Dictionary<string, string> { ["DOTNET_gcServer"] = "0", ["DOTNET_gcConcurrent"] = "1", ["DOTNET_GCConserveMemory"] = "5" }),
            _ => throw new ArgumentException($"unknown GC mode [{name}]: one of default, datas, server, workstation, conserve, workstation-conserve"),
        };
    }

    private sealed record ServiceProcess(BenchProcess Process, Uri BaseAddress);

    private static ServiceProcess StartService(string connectionString, GcMode gc, string folder)
    {
        var port = BenchPorts.Free();
        var baseAddress = new Uri($"http://127.0.0.1:{port}/");
        var name = "peers-" + gc.Name;
        string[] arguments =
        [
            Path.Combine(AppContext.BaseDirectory, "TrainedModelsOrleans.Silo.dll"),
            $"--Urls={baseAddress}", .. BenchSecurity.Arguments, $"--ConnectionStrings:Postgres={connectionString}", $"--Node:Name={name}",
            $"--Node:SiloPort={BenchPorts.Free()}", $"--Node:GatewayPort={BenchPorts.Free()}",
            $"--DataDirectory={Path.Combine(folder, name)}", "--Serving:MaxBatchSize=32", "--Logging:LogLevel:Default=Warning",
        ];
        return new ServiceProcess(BenchProcess.Start(name, "dotnet", arguments, AppContext.BaseDirectory, new Dictionary<string, string>(gc.Environment)), baseAddress);
    }

    public static async Task RunAsync(Func<string, Task<string>> newDatabase, TimeSpan duration, IReadOnlyList<GcMode> serviceGcModes, PeerModel peerModel, TextWriter output)
    {
        var peers = FindPeersFolder();
        var wrk = await FindOrInstallWrkAsync();
        if (wrk is null) return;
        var node = FindOnPath("node") is { } nodePath && FindOnPath("npm") is { } npmPath ? (Node: nodePath, Npm: npmPath) : default;
        if (node == default)
            Console.Error.WriteLine("  node or npm not found on PATH: the Node.js contestant is left out (install Node.js ≥ 18 with npm, e.g. `apt-get install -y nodejs npm`).");

        var folder = Path.Combine(Path.GetTempPath(), "tmo-bench", "peers-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        var modelPath = Path.Combine(folder, "tiny_mlp.onnx");
        var bodyPath = Path.Combine(folder, "body.json");
        var model = peerModel.Bytes();
        await File.WriteAllBytesAsync(modelPath, model);
        var random = new Random(1);
        await File.WriteAllTextAsync(bodyPath, InferenceBenchmark.TensorBody(Enumerable.Range(0, peerModel.Width).Select(_ => (float)random.NextDouble()).ToArray(), [1, peerModel.Width]));
        var body = await File.ReadAllBytesAsync(bodyPath);

        // wrk's whole-second durations; at least one second per run.
        var seconds = Math.Max(1, (int)Math.Round(duration.TotalSeconds));
        var contestants = new List<Contestant>();
        var processes = new List<BenchProcess>();
        try
        {
            // The service as it is deployed: the silo executable in its own process with its own runtime settings (as the
            // other two contestants run), the tiny model deployed as a user would: 2 allocations × 1 thread, no cache.
            // Each GC variant asked for is one more service process, each on its own database.
            foreach (var gc in serviceGcModes)
            {
                var service = StartService(await newDatabase("peers_" + gc.Name), gc, folder);
                processes.Add(service.Process);
                await BenchHttp.WaitUntilAnsweringAsync(service.BaseAddress, service.Process, TimeSpan.FromSeconds(120));
                using (var http = BenchSecurity.Client(service.BaseAddress, TimeSpan.FromSeconds(60)))
                    await InferenceBenchmark.DeployAsync(http, ModelId, model, allocations: 2);
                contestants.Add(new(serviceGcModes.Count == 1 ? "this service" : $"this service, {gc.Name} GC", new Uri(service.BaseAddress, $"/_ml/trained_models/{ModelId}/_infer"),
                    service.Process.Id));
            }

            if (node != default)
            {
                var server = Path.Combine(peers, "node-server");
                await NpmCiAsync(node.Npm, server);
                var port = BenchPorts.Free();
                var nodeServer = BenchProcess.Start("node-server", node.Node, [Path.Combine(server, "server.js"), modelPath, port.ToString(CultureInfo.InvariantCulture)], server);
                processes.Add(nodeServer);
                contestants.Add(new("Node.js + onnxruntime-node, 2 workers", new Uri($"http://127.0.0.1:{port}/_ml/trained_models/{ModelId}/_infer"), nodeServer.Id));
            }

            var floorPort = BenchPorts.Free();
            var floor = BenchProcess.Start("kestrel-floor", "dotnet",
                [Path.Combine(AppContext.BaseDirectory, "TrainedModelsOrleans.KestrelFloor.dll"), $"--urls=http://127.0.0.1:{floorPort}"], AppContext.BaseDirectory);
            processes.Add(floor);
            contestants.Add(new("Kestrel floor (parse, fixed answer)", new Uri($"http://127.0.0.1:{floorPort}/_ml/trained_models/{ModelId}/_infer"), floor.Id));

            foreach (var contestant in contestants)
                await WaitUntilAnsweringAsync(contestant, body, processes, TimeSpan.FromSeconds(60));

            // Warm-up (JIT tiers, V8's optimiser, pools), then rounds that alternate between the contestants, so a slower
            // stretch of a shared machine weighs on all alike.
            var loadBefore = LoadAverage();
            Console.Error.WriteLine($"  warm-up, then {Rounds} rounds × {contestants.Count} contestants × {Connections.Length} connection counts × {seconds} s ...");
            foreach (var contestant in contestants) await WrkAsync(wrk, peers, contestant, bodyPath, 64, (int)WarmUp.TotalSeconds);
            var runs = new Dictionary<(Contestant, int), List<WrkRun>>();
            for (var round = 0; round < Rounds; round++)
                foreach (var connections in Connections)
                    foreach (var contestant in contestants)
                    {
                        var run = await WrkAsync(wrk, peers, contestant, bodyPath, connections, seconds);
                        (runs.TryGetValue((contestant, connections), out var list) ? list : runs[(contestant, connections)] = []).Add(run);
                        Console.Error.WriteLine($"  round {round + 1}, {connections} connections, {contestant.Name}: {run.Rate:N0} req/s");
                    }

            var table = new ResultTable($"Peers: {peerModel.Name} _infer over HTTP, wrk 1 thread, keep-alive ({Environment.ProcessorCount} cores; {Rounds} alternating rounds of {seconds} s; " +
                                        $"req/s, p50 and p99 the medians over rounds; the service with 2 allocations × 1 thread, cache_size=0, batches of up to 32; " +
                                        $"1-min load average {loadBefore} before, {LoadAverage()} after)")
                .Columns("contestant", "64 conn req/s", "p50 µs", "p99 µs", "CPU µs/req", "16 conn req/s", "p50 µs", "p99 µs", "CPU µs/req");
            foreach (var contestant in contestants)
            {
                var (wide, narrow) = (Summary(runs[(contestant, 64)]), Summary(runs[(contestant, 16)]));
                table.Row(contestant.Name, wide.Rate, (int)wide.P50, (int)wide.P99, wide.CpuPerRequest, narrow.Rate, (int)narrow.P50, (int)narrow.P99, narrow.CpuPerRequest);
            }
            table.Print(output);
            output.WriteLine();
            output.WriteLine("CPU µs/req: the contestant's processes' user + system CPU time over the run (from /proc), per answered request; wrk's own CPU is not in it.");
            var wrkPerRequest = Median(contestants.Select(c => Summary(runs[(c, 64)]).WrkCpuPerRequest));
            output.WriteLine($"wrk's own CPU, same measure: {wrkPerRequest:0.0} µs/req (median over the contestants at 64 connections).");

            await AllocationProfileAsync(wrk, peers, contestants.Take(serviceGcModes.Count).ToArray(), bodyPath, seconds, peerModel, output);

            var ours = Summary(runs[(contestants[0], 64)]).Rate;
            if (serviceGcModes.Count > 1)
                output.WriteLine($"\nThe ratios below are for the first service row ({contestants[0].Name}).");
            string Ratio(Contestant? other) => other is null ? "-" : (ours / Summary(runs[(other, 64)]).Rate).ToString("0.00", CultureInfo.InvariantCulture);
            var nodeContestant = contestants.SingleOrDefault(c => c.Name.StartsWith("Node", StringComparison.Ordinal));
            output.WriteLine();
            output.WriteLine($"service/Node at 64 connections: {Ratio(nodeContestant)} (goal ≥ 2); service/Kestrel floor: {Ratio(contestants[^1])} (goal ≥ 0.85); " +
                             $"p99 at 16 connections, service vs Node: {Summary(runs[(contestants[0], 16)]).P99:0} vs " +
                             (nodeContestant is null ? "-" : $"{Summary(runs[(nodeContestant, 16)]).P99:0}") + " µs (goal: no worse).");
            // What the goals leave the service per request: the machine's cores, less wrk's share, at the rate each goal asks.
            var cores = Environment.ProcessorCount * 1e6;
            string Budget(double rate) => $"{rate:N0} req/s leaves at most {cores / rate - wrkPerRequest:0.0} µs of CPU per request for the service";
            var floorRun = Summary(runs[(contestants[^1], 64)]);
            output.WriteLine($"CPU budget: the Kestrel floor spends {floorRun.CpuPerRequest:0.0} µs/req without a model; 0.85× the floor = {Budget(0.85 * floorRun.Rate)}" +
                             (nodeContestant is null ? "." : $"; 2× Node = {Budget(2 * Summary(runs[(nodeContestant, 64)]).Rate)}."));
        }
        finally
        {
            foreach (var process in processes) await process.DisposeAsync();
            try { Directory.Delete(folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>The 1-minute load average: the machine may be shared, and every contestant here needs both cores.</summary>
    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "?";

    // Medians, rates too: one round caught by a burst of other work on a shared 2-core machine should not move the row.
    private static WrkRun Summary(List<WrkRun> runs) => new(Median(runs.Select(r => r.Rate)), Median(runs.Select(r => r.P50)), Median(runs.Select(r => r.P99)),
        runs.Sum(r => r.Requests), Median(runs.Select(r => r.CpuPerRequest)), Median(runs.Select(r => r.WrkCpuPerRequest)));

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    private static async Task<WrkRun> WrkAsync(string wrk, string peers, Contestant contestant, string bodyPath, int connections, int seconds)
    {
        var cpuBefore = CpuTicks(contestant.ProcessId);
        var wrkCpuBefore = ReapedChildrenCpu();
        await using var process = BenchProcess.Start("wrk", wrk,
            ["-t1", $"-c{connections}", $"-d{seconds}s", "--latency", "--timeout", "5s", "-s", Path.Combine(peers, "infer.lua"), contestant.InferUrl.ToString(), "--", bodyPath, BenchSecurity.Authorization.ToString()],
            peers);
        var text = await process.WaitForExitAsync(TimeSpan.FromSeconds(seconds + 30));
        // A contestant that answers errors fast would win: every answer must be a 2xx.
        if (Regex.Match(text, @"Non-2xx or 3xx responses: (\d+)") is { Success: true } failed)
            throw new InvalidOperationException($"{contestant.Name}: {failed.Groups[1].Value} non-2xx answers\n{text}");
        var cpu = CpuTicks(contestant.ProcessId) - cpuBefore;
        // wrk is the only child of this process that exits (and is reaped) during the run.
        var wrkCpu = ReapedChildrenCpu() - wrkCpuBefore;
        var requests = long.Parse(Regex.Match(text, @"(\d+) requests in").Groups[1].Value, CultureInfo.InvariantCulture);
        return new WrkRun(
            double.Parse(Regex.Match(text, @"Requests/sec:\s+([\d.]+)").Groups[1].Value, CultureInfo.InvariantCulture),
            Percentile(text, "50%"), Percentile(text, "99%"), requests, requests == 0 ? double.NaN : cpu * 1e6 / TicksPerSecond / requests,
            requests == 0 ? double.NaN : wrkCpu.TotalMicroseconds / requests);
    }

    /// <summary>User + system CPU time of this process's children that have exited and been waited for (getrusage, RUSAGE_CHILDREN).</summary>
    private static TimeSpan ReapedChildrenCpu()
    {
        if (!OperatingSystem.IsLinux()) return TimeSpan.Zero;
        // struct rusage starts with ru_utime and ru_stime, each a timeval of two longs (seconds, microseconds).
        Span<long> usage = stackalloc long[18];
        if (GetResourceUsage(-1, ref usage[0]) != 0) return TimeSpan.Zero;
        return TimeSpan.FromMicroseconds((usage[0] + usage[2]) * 1_000_000d + usage[1] + usage[3]);
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "getrusage")]
    private static extern int GetResourceUsage(int who, ref long usage);

    // USER_HZ: the unit of utime and stime in /proc/<pid>/stat (100 on Linux).
    internal const double TicksPerSecond = 100;

    /// <summary>User + system CPU ticks of a process and its descendants (the Node server's cluster workers).</summary>
    internal static long CpuTicks(int processId)
    {
        if (!Directory.Exists("/proc")) return 0;
        var parents = new Dictionary<int, int>();
        var ticks = new Dictionary<int, long>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            string stat;
            try { stat = File.ReadAllText(Path.Combine(dir, "stat")); }
            catch (IOException) { continue; }
            catch (UnauthorizedAccessException) { continue; }
            // After the command in parentheses: state ppid … utime (14th field) stime (15th).
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            parents[pid] = int.Parse(fields[1], CultureInfo.InvariantCulture);
            ticks[pid] = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        }
        long total = 0;
        foreach (var (pid, cpu) in ticks)
            for (var p = pid; p > 1; p = parents.GetValueOrDefault(p))
                if (p == processId) { total += cpu; break; }
        return total;
    }

    /// <summary>
    /// Bytes allocated per request and gen-0 collections per 10k requests in each service process, over one more 64-connection
    /// run, read by dotnet-counters (the runtime's own counters; installed as a global dotnet tool when missing).
    /// </summary>
    private static async Task AllocationProfileAsync(string wrk, string peers, Contestant[] services, string bodyPath, int seconds, PeerModel peerModel, TextWriter output)
    {
        var counters = await FindOrInstallDotnetCountersAsync();
        if (counters is null) return;
        var table = new ResultTable($"The service's garbage per request ({peerModel.Name}, 64 connections, {seconds} s; dotnet-counters, System.Runtime)")
            .Columns("service process", "requests", "bytes allocated / req", "gen0 GCs / 10k req", "gen1", "gen2");
        foreach (var service in services)
        {
            var csv = Path.Combine(Path.GetTempPath(), $"tmo-peers-counters-{Guid.NewGuid():N}.csv");
            // dotnet-counters writes its file in chunks and flushes it when it stops: it runs for a fixed duration that spans
            // the wrk run, and the intervals inside the run are picked by their timestamps once it has exited.
            var duration = TimeSpan.FromSeconds(seconds + 6);
            WrkRun run;
            DateTime runStarted, runEnded;
            await using (var collector = BenchProcess.Start("dotnet-counters", counters,
                             ["collect", "-p", service.ProcessId.ToString(CultureInfo.InvariantCulture), "--refresh-interval", "1", "--format", "csv", "-o", csv,
                              "--counters", "System.Runtime", "--duration", duration.ToString(@"hh\:mm\:ss", CultureInfo.InvariantCulture)], peers))
            {
                await Task.Delay(TimeSpan.FromSeconds(3)); // the session is up and has passed one interval
                runStarted = DateTime.Now;
                run = await WrkAsync(wrk, peers, service, bodyPath, 64, seconds);
                runEnded = DateTime.Now;
                await collector.WaitForExitAsync(duration + TimeSpan.FromSeconds(20));
            }
            // Each line is one interval's rate: "time,provider,name (unit / 1 sec)[tags],Rate,value"; the time is local, to the second.
            var lines = (File.Exists(csv) ? File.ReadAllLines(csv) : []).Where(line =>
                DateTime.TryParseExact(line.Split(',')[0], "MM/dd/yyyy HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.None, out var at)
                && at > runStarted && at <= runEnded.AddSeconds(1)).ToArray();
            // A counter with no line in the window (dotnet-counters missed it) is unknown, not zero.
            double Sum(string counter, string tag = "")
            {
                var matching = lines.Where(l => l.Contains("," + counter + " ", StringComparison.Ordinal) && l.Contains(tag, StringComparison.Ordinal)).ToArray();
                return matching.Length == 0 ? double.NaN : matching.Sum(l => double.Parse(l[(l.LastIndexOf(',') + 1)..], CultureInfo.InvariantCulture));
            }
            double PerTenThousand(string generation) => Sum("dotnet.gc.collections", $"[gc.heap.generation={generation}]") * 10_000 / run.Requests;
            table.Row(service.Name, run.Requests, run.Requests == 0 ? double.NaN : Math.Round(Sum("dotnet.gc.heap.total_allocated") / run.Requests),
                PerTenThousand("gen0"), PerTenThousand("gen1"), PerTenThousand("gen2"));
            try { File.Delete(csv); } catch (IOException) { }
        }
        table.Print(output);
        output.WriteLine();
        output.WriteLine("The counters cover the run's whole seconds and up to a second after it (the service is idle then), so the figures are a little high if anything.");
    }

    /// <summary>dotnet-counters from PATH or ~/.dotnet/tools; else `dotnet tool install -g dotnet-counters`; else null, having said so.</summary>
    internal static Task<string?> FindOrInstallDotnetCountersAsync() => FindOrInstallDotnetToolAsync("dotnet-counters");

    /// <summary>A diagnostics tool (dotnet-counters, dotnet-gcdump) on the PATH or in ~/.dotnet/tools; installed as a global tool when missing; null if it cannot be.</summary>
    internal static async Task<string?> FindOrInstallDotnetToolAsync(string tool)
    {
        var tools = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".dotnet", "tools");
        string? Find() => FindOnPath(tool) ?? (File.Exists(Path.Combine(tools, tool)) ? Path.Combine(tools, tool) : null);
        if (Find() is { } found) return found;
        Console.Error.WriteLine($"  {tool} not found: dotnet tool install -g {tool} ...");
        await using (var install = BenchProcess.Start("dotnet-tool-install", "dotnet", ["tool", "install", "-g", tool], "/"))
            await install.WaitForExitAsync(TimeSpan.FromMinutes(3));
        if (Find() is { } installed) return installed;
        Console.Error.WriteLine($"  {tool} could not be installed: its figures are left out.");
        return null;
    }

    /// <summary>A line of wrk's latency distribution ("99%    5.12ms"), in µs.</summary>
    private static double Percentile(string wrkOutput, string label)
    {
        var match = Regex.Match(wrkOutput, $@"^\s*{Regex.Escape(label)}\s+([\d.]+)(us|ms|s)\s*$", RegexOptions.Multiline);
        if (!match.Success) throw new InvalidOperationException($"no {label} line in wrk's output:\n{wrkOutput}");
        var value = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        return match.Groups[2].Value switch { "us" => value, "ms" => value * 1_000, _ => value * 1_000_000 };
    }

    private static async Task WaitUntilAnsweringAsync(Contestant contestant, byte[] body, IReadOnlyList<BenchProcess> processes, TimeSpan bound)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        // The peers ignore the header; our service needs it.
        http.DefaultRequestHeaders.Authorization = BenchSecurity.Authorization;
        var clock = Stopwatch.StartNew();
        var last = "";
        while (clock.Elapsed < bound)
        {
            if (processes.FirstOrDefault(p => p.HasExited) is { } dead)
                throw new InvalidOperationException($"{dead.Name} exited before {contestant.Name} answered\n{dead.OutputTail()}");
            try
            {
                using var content = new ByteArrayContent(body);
                content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
                using var response = await http.PostAsync(contestant.InferUrl, content);
                last = $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}";
                if (response.IsSuccessStatusCode)
                {
                    Console.Error.WriteLine($"  {contestant.Name} answers: {(last.Length > 160 ? last[..160] + "…" : last)}");
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { last = e.Message; }
            await Task.Delay(200);
        }
        throw new TimeoutException($"{contestant.Name} did not answer 2xx within {bound.TotalSeconds:0} s; last: {last}\n" +
                                   string.Join('\n', processes.Select(p => p.OutputTail())));
    }

    /// <summary>wrk from PATH; else, as root, <c>apt-get install -y wrk</c>; else null, having said what to run.</summary>
    private static async Task<string?> FindOrInstallWrkAsync()
    {
        if (FindOnPath("wrk") is { } found) return found;
        if (Environment.UserName == "root" && FindOnPath("apt-get") is { } apt)
        {
            Console.Error.WriteLine("  wrk not found: apt-get install -y wrk ...");
            foreach (var step in new[] { new[] { "install", "-y", "wrk" }, ["update"], ["install", "-y", "wrk"] })
            {
                await using var process = BenchProcess.Start("apt-get", apt, step, "/");
                await process.WaitForExitAsync(TimeSpan.FromMinutes(5));
                if (FindOnPath("wrk") is { } installed) return installed;
            }
        }
        Console.Error.WriteLine("  wrk not found and not installed: run `apt-get update && apt-get install -y wrk` (as root), or build it from https://github.com/wg/wrk, then run the peers suite again.");
        return null;
    }

    /// <summary>Fetches the Node server's pinned packages (package-lock.json) once; later runs reuse node_modules.</summary>
    private static async Task NpmCiAsync(string npm, string server)
    {
        if (Directory.Exists(Path.Combine(server, "node_modules", "onnxruntime-node"))) return;
        Console.Error.WriteLine($"  npm ci in {server} ...");
        await using var process = BenchProcess.Start("npm", npm, ["ci", "--no-audit", "--no-fund"], server,
            // The CPU binaries are in the npm package; skip the CUDA download its install script would try (also in .npmrc).
            new Dictionary<string, string> { ["ONNXRUNTIME_NODE_INSTALL"] = "skip" });
        await process.WaitForExitAsync(TimeSpan.FromMinutes(5));
        if (process.ExitCode != 0) throw new InvalidOperationException($"npm ci failed ({process.ExitCode})\n{process.OutputTail()}");
    }

    /// <summary>bench/peers of the repository the bench was built from (the bench runs from its bin folder).</summary>
    private static string FindPeersFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "bench", "peers");
            if (File.Exists(Path.Combine(candidate, "infer.lua"))) return candidate;
        }
        throw new DirectoryNotFoundException($"bench/peers not found above {AppContext.BaseDirectory}");
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
        .Select(dir => Path.Combine(dir, name)).FirstOrDefault(File.Exists);
}
