using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using TrainedModelsOrleans.TestModels;

namespace TrainedModelsOrleans.Bench;

/// <summary>
/// Issue 14's soak: the silo in its own process under mixed load for a set time — inference clients in a closed loop on
/// two deployed models (half of them through an alias the control plane keeps moving), and one control-plane client
/// cycling put model → start → pipeline → update → alias move → pipeline delete → stop → delete on a new model id each
/// cycle. Every 2xx answer of the control plane is then checked to be visible (a failed check is an acknowledged
/// operation that was lost). Samples the process's RSS, threads, handles, managed heap and Orleans activations over the
/// run and compares the first and last windows' inference latency.
/// </summary>
public static class SoakBenchmark
{
    private const int InferenceClients = 4;
    private const string Alias = "soak-serving";
    private const string Pipeline = "soak-pipeline";
    private static readonly string[] ServingModels = ["soak-serve-a", "soak-serve-b"];

    /// <summary>Each inference client waits this long between its answer and its next request: a steady load that leaves the 2 cores some room.</summary>
    private static readonly TimeSpan ThinkTime = TimeSpan.FromMilliseconds(2);

    /// <summary>The control-plane client's pause between cycles.</summary>
    private static readonly TimeSpan CyclePause = TimeSpan.FromMilliseconds(200);

    private const int KeptFailures = 5;

    /// <summary>One sample of the service process: <paramref name="At"/> since the load began; NaN where a figure could not be read.</summary>
    private sealed record Sample(TimeSpan At, long Rss, long Threads, int Handles, double CpuPercent, Grains Grains, long Inferences, long Cycles,
        double LiveHeapMb = double.NaN)
    {
        public double Activations => Grains.Activations;
    }

    /// <summary>Orleans' own counts from the node's Prometheus scrape: activations, and grains by type; NaN and empty if not there.</summary>
    private sealed record Grains(double Activations, IReadOnlyDictionary<string, double> ByType);

    /// <summary>What the clients saw; counters are updated with Interlocked from every client.</summary>
    private sealed class Tally
    {
        public long Cycles;
        public long Acknowledged;
        public long Checks;
        public long FailedChecks;
        public long ControlErrors;
        public long Inferences;
        public long InferenceErrors;
        public long Rejections;
        public readonly List<string> Failures = [];

        public void Note(string failure)
        {
            lock (Failures)
                if (Failures.Count < KeptFailures) Failures.Add(failure.Length > 600 ? failure[..600] + " …" : failure);
        }
    }

    /// <returns>True when no acknowledged operation failed its check and nothing answered an unexpected status.</returns>
    public static async Task<bool> RunAsync(Func<string, Task<string>> newDatabase, TimeSpan duration, TextWriter output)
    {
        var folder = Path.Combine(Path.GetTempPath(), "tmo-bench", "soak-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        var baseAddress = new Uri($"http://127.0.0.1:{BenchPorts.Free()}/");
        // 4 processors offered: two serving deployments of 1 allocation and the cycle's deployment at 2 fit exactly.
        await using var service = BenchProcess.Start("soak", "dotnet",
        [
            Path.Combine(AppContext.BaseDirectory, "TrainedModelsOrleans.Silo.dll"),
            $"--Urls={baseAddress}", .. BenchSecurity.Arguments, $"--ConnectionStrings:Postgres={await newDatabase("soak")}", "--Node:Name=soak",
            $"--Node:SiloPort={BenchPorts.Free()}", $"--Node:GatewayPort={BenchPorts.Free()}", "--Node:Processors=4",
            $"--DataDirectory={Path.Combine(folder, "node")}", "--Logging:LogLevel:Default=Warning",
        ], AppContext.BaseDirectory);
        await BenchHttp.WaitUntilAnsweringAsync(baseAddress, service, TimeSpan.FromSeconds(120));
        using var control = BenchSecurity.Client(baseAddress, TimeSpan.FromSeconds(60));
        using var inference = BenchSecurity.Client(baseAddress, TimeSpan.FromSeconds(30));

        var model = TestOnnxModels.Mlp();
        foreach (var id in ServingModels) await InferenceBenchmark.DeployAsync(control, id, model, allocations: 1);
        await BenchHttp.EnsureAsync(await control.PutAsync($"/_ml/trained_models/{ServingModels[0]}/model_aliases/{Alias}", null));

        // The timeline's step; the first and last windows (equal length) are compared. The start's figures are taken
        // after the warm-up: two minutes in a run of five or more, so that the activations of the ids the cycles churn
        // through have reached their collection age (Runtime:IdKeyedCollectionAge, 1 min, checked every 30 s); in a
        // longer run, two windows.
        var step = TimeSpan.FromSeconds(Math.Min(30, duration.TotalSeconds / 10));
        var window = TimeSpan.FromSeconds(Math.Max(step.TotalSeconds, duration.TotalSeconds / 10));
        // At least two windows, so that the start's latency window (the one before it) is past the cold start.
        var warmup = duration >= TimeSpan.FromMinutes(5) && 2 * window < TimeSpan.FromMinutes(2) ? TimeSpan.FromMinutes(2) : 2 * window;
        var gcdump = await PeersBenchmark.FindOrInstallDotnetToolAsync("dotnet-gcdump");
        var counters = await ManagedHeapCounters.StartAsync(service.Id, step, duration + TimeSpan.FromSeconds(15), folder);

        var tally = new Tally();
        var intervals = Enumerable.Range(0, (int)Math.Ceiling(duration / step) + 1).Select(_ => new LatencySamples(400_000)).ToArray();
        var (first, last) = (new LatencySamples(2_000_000), new LatencySamples(2_000_000));
        var clock = Stopwatch.StartNew();
        void Record(long ticks)
        {
            var at = clock.Elapsed;
            lock (intervals)
            {
                intervals[Math.Min(intervals.Length - 1, (int)(at / step))].Add(ticks);
                // The window before the start's sample: the live-heap reading there pauses the service for a moment.
                if (at >= warmup - window && at < warmup) first.Add(ticks);
                if (at >= duration - window) last.Add(ticks);
            }
        }

        var random = new Random(14);
        var body = Encoding.UTF8.GetBytes(InferenceBenchmark.TensorBody(Enumerable.Range(0, 64).Select(_ => (float)random.NextDouble()).ToArray(), [1, 64]));
        // Half the clients go through the alias the control plane moves, the others straight to each model.
        string[] targets = [Alias, Alias, ServingModels[0], ServingModels[1]];
        var load = Enumerable.Range(0, InferenceClients)
            .Select(c => Task.Run(() => InferLoopAsync(inference, targets[c % targets.Length], body, clock, duration, tally, Record)))
            .Append(Task.Run(() => ControlLoopAsync(control, model, clock, duration, tally)))
            .ToArray();

        var samples = new List<Sample>();
        var cpuBefore = (Ticks: PeersBenchmark.CpuTicks(service.Id), At: clock.Elapsed);
        for (var next = step; ; next += step)
        {
            var wait = next - clock.Elapsed;
            if (wait > TimeSpan.Zero) await Task.WhenAny(Task.Delay(wait), Task.WhenAll(load));
            if (service.HasExited) throw new InvalidOperationException($"the service exited during the soak, at {Clock(clock.Elapsed)} (exit code {service.ExitCode}: 0 is a graceful stop, a SIGTERM or SIGINT from outside)\n{service.OutputTail(200)}");
            // At the start and the end: the live heap, after the full collection dotnet-gcdump induces.
            var liveHeap = (next >= warmup && next - step < warmup) || next >= duration ? await LiveHeapMbAsync(gcdump, service.Id, folder) : double.NaN;
            var cpu = (Ticks: PeersBenchmark.CpuTicks(service.Id), At: clock.Elapsed);
            var sample = new Sample(cpu.At, ProcessFigures.Rss(service.Id), ProcessFigures.Threads(service.Id), ProcessFigures.Handles(service.Id),
                (cpu.Ticks - cpuBefore.Ticks) / PeersBenchmark.TicksPerSecond / (cpu.At - cpuBefore.At).TotalSeconds * 100,
                await GrainsAsync(control), Interlocked.Read(ref tally.Inferences), Interlocked.Read(ref tally.Cycles), liveHeap);
            cpuBefore = cpu;
            samples.Add(sample);
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  soak {Clock(sample.At)} / {Clock(duration)}: {sample.Cycles:N0} cycles, {tally.Checks:N0} checks ({tally.FailedChecks} failed), {tally.ControlErrors} control errors; " +
                $"{sample.Inferences:N0} inferences ({tally.InferenceErrors} errors, {tally.Rejections} × 429); RSS {Mb(sample.Rss)} MB, {sample.Threads} threads, {sample.Handles} handles"));
            if (next >= duration) break;
        }
        await Task.WhenAll(load);
        var elapsed = clock.Elapsed;
        var heap = await counters.StopAsync();

        var start = samples.MinBy(s => (s.At - warmup).Duration())!;
        var end = samples[^1];
        var ok = tally.FailedChecks == 0 && tally.ControlErrors == 0 && tally.InferenceErrors == 0;
        Print(output, duration, warmup, window, step, samples, start, end, heap, first, last, intervals, tally, elapsed);
        try { Directory.Delete(folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        return ok;
    }

    private static async Task InferLoopAsync(HttpClient http, string target, byte[] body, Stopwatch clock, TimeSpan duration, Tally tally, Action<long> record)
    {
        while (clock.Elapsed < duration)
        {
            var started = Stopwatch.GetTimestamp();
            try
            {
                using var content = new ByteArrayContent(body);
                content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
                using var response = await http.PostAsync($"/_ml/trained_models/{target}/_infer", content);
                var answer = await response.Content.ReadAsStringAsync();
                record(Stopwatch.GetTimestamp() - started);
                Interlocked.Increment(ref tally.Inferences);
                if (response.StatusCode == HttpStatusCode.TooManyRequests) Interlocked.Increment(ref tally.Rejections);
                else if (!response.IsSuccessStatusCode)
                {
                    Interlocked.Increment(ref tally.InferenceErrors);
                    tally.Note($"_infer {target} at {Clock(clock.Elapsed)}: {(int)response.StatusCode} {answer}");
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                Interlocked.Increment(ref tally.Inferences);
                Interlocked.Increment(ref tally.InferenceErrors);
                tally.Note($"_infer {target} at {Clock(clock.Elapsed)}: {e.GetType().Name} {e.Message}");
            }
            await Task.Delay(ThinkTime);
        }
    }

    /// <summary>
    /// One cycle per new model id, each step's 2xx followed by a read that must show it. A step answered otherwise ends
    /// the cycle (its leftovers are removed with force) and is counted as an error.
    /// </summary>
    private static async Task ControlLoopAsync(HttpClient http, byte[] definition, Stopwatch clock, TimeSpan duration, Tally tally)
    {
        var config = new JsonObject
        {
            ["model_type"] = "onnx",
            ["inference_config"] = new JsonObject { ["pass_through"] = new JsonObject() },
            ["input"] = new JsonObject { ["field_names"] = new JsonArray("input") },
        };
        var part = new { definition = Convert.ToBase64String(definition), total_definition_length = definition.Length, total_parts = 1 };
        var infer = InferenceBenchmark.TensorBody(new float[64], [1, 64]);
        for (var cycle = 0; clock.Elapsed < duration; cycle++)
        {
            var id = $"soak-cycle-{cycle}";
            var aliasTarget = ServingModels[(cycle + 1) % ServingModels.Length];
            var completed =
                await StepAsync("PUT model config", () => http.PutAsJsonAsync($"/_ml/trained_models/{id}", config)) &&
                await StepAsync("PUT definition", () => http.PutAsJsonAsync($"/_ml/trained_models/{id}/definition/0", part)) &&
                await CheckAsync("model fully defined", $"/_ml/trained_models/{id}?include=definition_status",
                    json => json["trained_model_configs"]?[0] is { } c && (string?)c["model_id"] == id && (bool?)c["fully_defined"] == true) &&
                await StepAsync("start wait_for=started", () => http.PostAsync($"/_ml/trained_models/{id}/deployment/_start?wait_for=started&cache_size=0", null)) &&
                await CheckAsync("deployment started", $"/_ml/trained_models/{id}/_stats", json => Deployment(json, id) is { } d && (string?)d["state"] == "started") &&
                await CheckInferAsync(id) &&
                await StepAsync("PUT pipeline", () => http.PutAsJsonAsync($"/_ingest/pipeline/{Pipeline}",
                    new { processors = new[] { new { inference = new { model_id = id, field_map = new Dictionary<string, string> { ["body"] = "input" } } } } })) &&
                await CheckAsync("pipeline stored", $"/_ingest/pipeline/{Pipeline}", json => (string?)json[Pipeline]?["processors"]?[0]?["inference"]?["model_id"] == id) &&
                await StepAsync("_update to 2 allocations", () => http.PostAsJsonAsync($"/_ml/trained_models/{id}/deployment/_update", new { number_of_allocations = 2 })) &&
                await CheckAsync("2 allocations", $"/_ml/trained_models/{id}/_stats", json => (int?)Deployment(json, id)?["number_of_allocations"] == 2) &&
                await StepAsync("alias move", () => http.PutAsync($"/_ml/trained_models/{aliasTarget}/model_aliases/{Alias}?reassign=true", null)) &&
                await CheckAsync("alias moved", $"/_ml/trained_models/{Alias}", json => (string?)json["trained_model_configs"]?[0]?["model_id"] == aliasTarget) &&
                await StepAsync("DELETE pipeline", () => http.DeleteAsync($"/_ingest/pipeline/{Pipeline}")) &&
                await CheckGoneAsync("pipeline gone", $"/_ingest/pipeline/{Pipeline}") &&
                await StepAsync("stop", () => http.PostAsync($"/_ml/trained_models/{id}/deployment/_stop", null)) &&
                await CheckAsync("deployment gone", $"/_ml/trained_models/{id}/_stats", json => json["trained_model_stats"] is JsonArray entries && entries.All(e => e?["deployment_stats"] is null)) &&
                await StepAsync("DELETE model", () => http.DeleteAsync($"/_ml/trained_models/{id}")) &&
                await CheckGoneAsync("model gone", $"/_ml/trained_models/{id}");
            if (completed) Interlocked.Increment(ref tally.Cycles);
            else await CleanUpAsync(id);
            await Task.Delay(CyclePause);
        }

        async Task<bool> StepAsync(string what, Func<Task<HttpResponseMessage>> call)
        {
            using var response = await call();
            if (response.IsSuccessStatusCode)
            {
                Interlocked.Increment(ref tally.Acknowledged);
                return true;
            }
            Interlocked.Increment(ref tally.ControlErrors);
            tally.Note($"{what} at {Clock(clock.Elapsed)}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            return false;
        }

        // A check that fails is recorded and the cycle goes on: the step it follows was acknowledged.
        async Task<bool> CheckAsync(string what, string path, Func<JsonNode, bool> holds)
        {
            Interlocked.Increment(ref tally.Checks);
            using var response = await http.GetAsync(path);
            var text = await response.Content.ReadAsStringAsync();
            if (!response.IsSuccessStatusCode || JsonNode.Parse(text) is not { } json || !holds(json))
                Fail(what, $"GET {path}: {(int)response.StatusCode} {text}");
            return true;
        }

        async Task<bool> CheckGoneAsync(string what, string path)
        {
            Interlocked.Increment(ref tally.Checks);
            using var response = await http.GetAsync(path);
            if (response.StatusCode != HttpStatusCode.NotFound)
                Fail(what, $"GET {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            return true;
        }

        async Task<bool> CheckInferAsync(string id)
        {
            Interlocked.Increment(ref tally.Checks);
            using var response = await http.PostAsync($"/_ml/trained_models/{id}/_infer", new StringContent(infer, Encoding.UTF8, "application/json"));
            if (!response.IsSuccessStatusCode)
                Fail("started deployment infers", $"POST {id}/_infer: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            return true;
        }

        void Fail(string what, string detail)
        {
            Interlocked.Increment(ref tally.FailedChecks);
            tally.Note($"check [{what}] failed at {Clock(clock.Elapsed)}: {detail}");
        }

        async Task CleanUpAsync(string id)
        {
            (await http.DeleteAsync($"/_ingest/pipeline/{Pipeline}")).Dispose();
            (await http.PostAsync($"/_ml/trained_models/{id}/deployment/_stop?force=true", null)).Dispose();
            (await http.DeleteAsync($"/_ml/trained_models/{id}?force=true")).Dispose();
        }
    }

    private static JsonNode? Deployment(JsonNode stats, string id) =>
        (stats["trained_model_stats"] as JsonArray)?.Select(e => e?["deployment_stats"]).FirstOrDefault(d => (string?)d?["deployment_id"] == id);

    private static async Task<Grains> GrainsAsync(HttpClient http)
    {
        try
        {
            var lines = (await http.GetStringAsync("/_prometheus/metrics")).Split('\n');
            var activations = lines.Where(l => l.StartsWith("orleans_catalog_activations", StringComparison.Ordinal) && !l.Contains("_bucket", StringComparison.Ordinal))
                .Select(Value).ToArray();
            // orleans_grains{…,type="…"} <count>
            var byType = lines.Where(l => l.StartsWith("orleans_grains{", StringComparison.Ordinal))
                .Select(l => (Type: System.Text.RegularExpressions.Regex.Match(l, "type=\"([^\"]*)\"").Groups[1].Value, Count: Value(l)))
                .GroupBy(x => x.Type).ToDictionary(g => g.Key, g => g.Sum(x => x.Count));
            return new Grains(activations.Length == 0 ? double.NaN : activations.Sum(), byType);
        }
        catch (HttpRequestException)
        {
            return new Grains(double.NaN, new Dictionary<string, double>());
        }

        static double Value(string line) => double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
    }

    private static void Print(TextWriter output, TimeSpan duration, TimeSpan warmup, TimeSpan window, TimeSpan step, List<Sample> samples, Sample start, Sample end,
        ManagedHeapCounters.Readings heap, LatencySamples first, LatencySamples last, LatencySamples[] intervals, Tally tally, TimeSpan elapsed)
    {
        var table = new ResultTable($"soak: {Clock(duration)} of mixed load on the silo in its own process ({InferenceClients} inference clients, {ThinkTime.TotalMilliseconds:0} ms think time, " +
                                    $"one control-plane client, {CyclePause.TotalMilliseconds:0} ms between cycles); start = after the warm-up of {Clock(warmup)}, end = the last sample; machine shared with other work")
            .Columns("metric", "start", "end", "end / start");
        void Row(string metric, double a, double b, string format = "N0") =>
            table.Row(metric, Format(a, format), Format(b, format), double.IsNaN(a) || double.IsNaN(b) || a == 0 ? "-" : (b / a).ToString("0.00", CultureInfo.InvariantCulture));
        Row("RSS MB", start.Rss / 1048576.0, end.Rss / 1048576.0);
        Row("live managed heap MB (after a full GC, dotnet-gcdump)", start.LiveHeapMb, end.LiveHeapMb, "N1");
        Row("managed heap MB (after the last GC of any generation)", heap.HeapAt(start.At), heap.HeapAt(end.At), "N1");
        Row("threads", start.Threads, end.Threads);
        Row("handles (/proc/<pid>/fd)", start.Handles, end.Handles);
        Row("Orleans activations", start.Activations, end.Activations);
        Row($"inference p50 ms (a window of {Clock(window)})", first.PercentileMicros(0.5) / 1000, last.PercentileMicros(0.5) / 1000, "N2");
        Row($"inference p99 ms (a window of {Clock(window)})", first.PercentileMicros(0.99) / 1000, last.PercentileMicros(0.99) / 1000, "N2");
        Row("inference requests in the window", first.Count, last.Count);
        table.Print(output);

        var timeline = new ResultTable($"soak timeline (every {Clock(step)})")
            .Columns("at", "RSS MB", "heap MB", "threads", "handles", "activations", "service CPU %", "inferences/s", "p99 ms", "cycles");
        var previous = (Inferences: 0L, At: TimeSpan.Zero);
        for (var i = 0; i < samples.Count; i++)
        {
            var s = samples[i];
            timeline.Row(Clock(s.At), Format(s.Rss / 1048576.0, "N0"), Format(heap.HeapAt(s.At), "N1"), s.Threads, s.Handles, Format(s.Activations, "N0"),
                Format(s.CpuPercent, "N0"), Format((s.Inferences - previous.Inferences) / (s.At - previous.At).TotalSeconds, "N0"),
                Format(intervals[i].PercentileMicros(0.99) / 1000, "N2"), s.Cycles);
            previous = (s.Inferences, s.At);
        }
        timeline.Print(output);
        output.WriteLine();
        string MinMax(Func<Sample, double> of, string format) => $"{Format(samples.Min(of), format)}–{Format(samples.Max(of), format)}";
        output.WriteLine($"Over the timeline: RSS {MinMax(s => s.Rss / 1048576.0, "N0")} MB, threads {MinMax(s => s.Threads, "N0")}, handles {MinMax(s => s.Handles, "N0")}.");

        var types = new ResultTable("soak: grains by type (Orleans' orleans_grains), those that changed")
            .Columns("grain type", "start", "end");
        foreach (var type in start.Grains.ByType.Keys.Union(end.Grains.ByType.Keys).Order(StringComparer.Ordinal))
        {
            var (a, b) = (start.Grains.ByType.GetValueOrDefault(type), end.Grains.ByType.GetValueOrDefault(type));
            if (a != b) types.Row(type, Format(a, "N0"), Format(b, "N0"));
        }
        types.Print(output);

        var counts = new ResultTable("soak: operations")
            .Columns("count", "value");
        counts.Row("control-plane cycles completed (put, start, pipeline, update, alias move, pipeline delete, stop, delete)", tally.Cycles);
        counts.Row("control-plane cycles per minute", Format(tally.Cycles / elapsed.TotalMinutes, "N1"));
        counts.Row("acknowledged control-plane operations (2xx)", tally.Acknowledged);
        counts.Row("checks that an acknowledged operation is visible", tally.Checks);
        counts.Row("**failed checks**", tally.FailedChecks);
        counts.Row("control-plane errors (non-2xx)", tally.ControlErrors);
        counts.Row("inference requests", tally.Inferences);
        counts.Row("inference requests per second", Format(tally.Inferences / elapsed.TotalSeconds, "N0"));
        counts.Row("inference errors (non-2xx other than 429, or no answer)", tally.InferenceErrors);
        counts.Row("inference 429s", tally.Rejections);
        counts.Print(output);
        if (tally.Failures.Count > 0)
        {
            output.WriteLine();
            output.WriteLine($"First {tally.Failures.Count} failures:");
            foreach (var failure in tally.Failures) output.WriteLine($"- {failure}");
        }
    }

    private static string Format(double value, string format) => double.IsNaN(value) ? "-" : value.ToString(format, CultureInfo.InvariantCulture);

    /// <summary>m:ss (h:mm:ss past an hour), to the nearest second: a sample taken at 8:59.98 reads 9:00.</summary>
    private static string Clock(TimeSpan at)
    {
        var rounded = TimeSpan.FromSeconds(Math.Round(at.TotalSeconds));
        return rounded.ToString(rounded.TotalHours >= 1 ? @"h\:mm\:ss" : @"m\:ss", CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// The service's live managed heap in MB: dotnet-gcdump induces a full blocking collection and walks what survived
    /// (its "GC Heap bytes"); the process pauses for about a second. NaN when the tool is missing or fails.
    /// </summary>
    private static async Task<double> LiveHeapMbAsync(string? gcdump, int processId, string folder)
    {
        if (gcdump is null) return double.NaN;
        var file = Path.Combine(folder, $"heap-{Guid.NewGuid():N}.gcdump");
        try
        {
            string collected, report;
            await using (var collect = BenchProcess.Start("dotnet-gcdump", gcdump, ["collect", "-p", processId.ToString(CultureInfo.InvariantCulture), "-o", file], folder))
                collected = await collect.WaitForExitAsync(TimeSpan.FromMinutes(2));
            // The total is the report's first line (BenchProcess keeps only an output's tail).
            using (var read = Process.Start(new ProcessStartInfo(gcdump, ["report", file]) { RedirectStandardOutput = true })!)
            {
                report = await read.StandardOutput.ReadLineAsync() ?? "";
                try { read.Kill(); } catch (InvalidOperationException) { } // already ended
                await read.WaitForExitAsync();
            }
            var total = System.Text.RegularExpressions.Regex.Match(report, @"([\d,]+)\s+GC Heap bytes");
            if (total.Success) return long.Parse(total.Groups[1].Value, NumberStyles.AllowThousands, CultureInfo.InvariantCulture) / 1048576.0;
            Console.Error.WriteLine($"  dotnet-gcdump gave no heap size:\n{collected}\n{report}");
            return double.NaN;
        }
        catch (TimeoutException e)
        {
            Console.Error.WriteLine($"  dotnet-gcdump: {e.Message}");
            return double.NaN;
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static string Mb(long bytes) => (bytes / 1048576.0).ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>
    /// The service's managed heap (the runtime's <c>dotnet.gc.last_collection.heap.size</c>, summed over generations) read by
    /// dotnet-counters for the whole soak; its file is flushed only when it stops, so the readings come at the end.
    /// </summary>
    private sealed class ManagedHeapCounters
    {
        private readonly BenchProcess? _collector;
        private readonly string _csv;
        private readonly DateTime _started;
        private readonly TimeSpan _duration;

        private ManagedHeapCounters(BenchProcess? collector, string csv, DateTime started, TimeSpan duration) =>
            (_collector, _csv, _started, _duration) = (collector, csv, started, duration);

        public static async Task<ManagedHeapCounters> StartAsync(int processId, TimeSpan interval, TimeSpan duration, string folder)
        {
            var csv = Path.Combine(folder, "counters.csv");
            var tool = await PeersBenchmark.FindOrInstallDotnetCountersAsync();
            var collector = tool is null ? null : BenchProcess.Start("dotnet-counters", tool,
                ["collect", "-p", processId.ToString(CultureInfo.InvariantCulture), "--refresh-interval", Math.Max(1, (int)interval.TotalSeconds).ToString(CultureInfo.InvariantCulture),
                 "--format", "csv", "-o", csv, "--counters", "System.Runtime[dotnet.gc.last_collection.heap.size]",
                 "--duration", duration.ToString(@"hh\:mm\:ss", CultureInfo.InvariantCulture)], folder);
            return new ManagedHeapCounters(collector, csv, DateTime.Now, duration);
        }

        /// <summary>Heap size in MB at each of dotnet-counters' timestamps, relative to the soak's start.</summary>
        public sealed record Readings(IReadOnlyList<(TimeSpan At, double Mb)> Values)
        {
            /// <summary>The last reading at or before <paramref name="at"/> (plus a second: its timestamps are whole seconds); NaN if none.</summary>
            public double HeapAt(TimeSpan at)
            {
                var before = Values.Where(v => v.At <= at + TimeSpan.FromSeconds(1)).ToList();
                return before.Count == 0 ? double.NaN : before[^1].Mb;
            }
        }

        public async Task<Readings> StopAsync()
        {
            if (_collector is null) return new Readings([]);
            await using (_collector)
            {
                try { await _collector.WaitForExitAsync(_duration - (DateTime.Now - _started) + TimeSpan.FromSeconds(30)); }
                catch (TimeoutException e) { Console.Error.WriteLine($"  dotnet-counters: {e.Message}"); }
            }
            // "time,provider,name (unit)[tags],kind,value"; the time is local, to the second.
            var values = (File.Exists(_csv) ? File.ReadAllLines(_csv) : [])
                .Select(line => line.Split(','))
                .Where(f => f.Length >= 5 && f[2].StartsWith("dotnet.gc.last_collection.heap.size", StringComparison.Ordinal)
                            && DateTime.TryParseExact(f[0], "MM/dd/yyyy HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.None, out _))
                .GroupBy(f => DateTime.ParseExact(f[0], "MM/dd/yyyy HH:mm:ss", CultureInfo.InvariantCulture))
                .OrderBy(g => g.Key)
                .Select(g => (At: g.Key - _started, Mb: g.Sum(f => double.Parse(f[^1], CultureInfo.InvariantCulture)) / 1048576.0))
                .ToList();
            return new Readings(values);
        }
    }
}
