using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using TrainedModelsOrleans.Grains.Serving;
using TrainedModelsOrleans.Inference.OnnxRuntime;
using Orleans;
using TrainedModelsOrleans.Silo;
using TrainedModelsOrleans.TestModels;

namespace TrainedModelsOrleans.Bench;

/// <summary>
/// The data plane against its ceiling, in one run, same model and thread settings (2 allocations × 1
/// thread, one shared session): (a) raw ONNX Runtime in a loop, (b) the served path through a grain
/// call (the co-hosted client), (c) HTTP with keep-alive from a client on loopback.
/// </summary>
public static class InferenceBenchmark
{
    private sealed record Model(string Name, byte[] Bytes, string Input, long[] Shape, int Elements);

    public static async Task RunAsync(Func<string, Task<string>> newDatabase, TimeSpan duration, TextWriter output)
    {
        var models = new[]
        {
            new Model("mlp (tiny)", TestOnnxModels.Mlp(), "input", [1, 64], 64),
            new Model("medium (~1 ms)", TestOnnxModels.Medium(), "input", [1, 1024], 1024),
            new Model("paddleocr-cls", PublishedModels.PublishedModels.PaddleOcrClassifier(), PublishedModels.PublishedModels.PaddleOcrClassifierInputName,
                PublishedModels.PublishedModels.InputShape(1), (int)PublishedModels.PublishedModels.InputShape(1).Aggregate(1L, (a, d) => a * d)),
        };
        var table = new ResultTable($"Inference: raw ONNX Runtime vs served ({Environment.ProcessorCount} cores, {duration.TotalSeconds:0} s per row in {ThroughputRounds} alternating rounds, 2 allocations × 1 thread, one shared session, no batching)")
            .Columns("model", "path", "callers", "inferences/s", "p50 µs", "p99 µs", "ratio to raw");
        // First, while the process heap is fresh (freed native memory stays in glibc's heap and hides growth).
        var sessions = SessionChoice(models[1], duration);
        var overhead = new ResultTable("Per-request overhead (1 caller, sequential): served p50 − raw p50")
            .Columns("model", "raw p50 µs", "grain p50 µs", "HTTP p50 µs", "grain overhead µs", "HTTP overhead µs");

        await using (var node = await StartNodeAsync(await newDatabase("inference_unbatched"), maxBatchSize: 1))
        {
            using var http = BenchSecurity.Client(node.BaseAddress);
            var grains = node.Services.GetRequiredService<IGrainFactory>().GetGrain<IInferenceGrain>("infer");
            var root = await MeasureAsync(1, duration, async () => (await http.GetAsync("/")).Dispose());
            overhead.Row("(HTTP GET / , no model: the loopback HTTP floor)", "-", "-", root.P50, "-", "-");
            foreach (var model in models)
            try
            {
                Console.Error.WriteLine($"  {model.Name} ...");
                var id = "bench-" + model.Name.Split(' ')[0];
                await DeployAsync(http, id, model.Bytes, allocations: 2);
                var input = Input(model, seed: 1);

                using var session = new OnnxSession(model.Bytes, new OnnxSessionOptions { IntraOpThreads = 1, InterOpThreads = 1 });
                Task Raw() { session.Run([OnnxInput.Create(model.Input, input, model.Shape)]); return Task.CompletedTask; }
                var doc = new[] { new[] { InferenceTensor.Of(model.Input, input, model.Shape) } };
                Task Grain() => grains.InferTensors(id, doc);
                var body = Encoding.UTF8.GetBytes(TensorBody(input, model.Shape));
                Task Post() => PostAsync(http, id, body);

                // The three throughput rows run in alternating rounds (a slower stretch of a shared machine then
                // weighs on all three alike), their rates averaged over the rounds.
                var (raw2, grainN, httpN) = await AlternatingAsync(duration, (Raw, 2), (Grain, 8), (Post, 8));
                var raw1 = await MeasureAsync(1, duration, Raw);
                var grain1 = await MeasureAsync(1, duration, Grain);
                var http1 = await MeasureAsync(1, duration, Post);

                table.Row(model.Name, "(a) raw ORT", 2, raw2.Rate, raw2.P50, raw2.P99, "1.00");
                table.Row(model.Name, "(b) grain call", 8, grainN.Rate, grainN.P50, grainN.P99, (grainN.Rate / raw2.Rate).ToString("0.00"));
                table.Row(model.Name, "(c) HTTP keep-alive", 8, httpN.Rate, httpN.P50, httpN.P99, (httpN.Rate / raw2.Rate).ToString("0.00"));
                overhead.Row(model.Name, raw1.P50, grain1.P50, http1.P50, grain1.P50 - raw1.P50, http1.P50 - raw1.P50);
                await StopAsync(http, id);
            }
            catch (Exception e)
            {
                Console.Error.WriteLine($"  {model.Name} failed: {e}");
                throw;
            }
        }

        // Dynamic batching: the tiny model under 64 concurrent clients, with and without it. Two nodes with the
        // same settings, deployment and callers; only Serving:MaxBatchSize differs. Two ways in: the grain call a
        // co-hosted .NET caller makes, and the short way the HTTP API takes (DirectInference: the node's executor,
        // no grain call). Their rounds alternate, so a slower or faster stretch of a shared machine weighs on all alike.
        var batching = new ResultTable($"Dynamic batching, mlp, 64 concurrent clients (2 allocations × 1 thread; {BatchingRounds} alternating rounds per row, p50/p99 the median over rounds)")
            .Columns("way in", "setting", "inferences/s", "p50 µs", "p99 µs", "vs unbatched", "bytes/inference");
        int[] maxBatches = [1, 32];
        string[] ways = ["grain call", "short way (no grain call)"];
        var nodes = new List<SiloHost>();
        try
        {
            var settings = new List<(string Way, int MaxBatch, Func<Task>[] Clients)>();
            foreach (var maxBatch in maxBatches)
            {
                var node = await StartNodeAsync(await newDatabase($"inference_batch_{maxBatch}"), maxBatch);
                nodes.Add(node);
                using var http = BenchSecurity.Client(node.BaseAddress);
                var grains = node.Services.GetRequiredService<IGrainFactory>().GetGrain<IInferenceGrain>("infer");
                var direct = node.Services.GetRequiredService<DirectInference>();
                await DeployAsync(http, "bench-batch", TestOnnxModels.Mlp(), allocations: 2);
                var target = await direct.ResolveAsync("bench-batch") ?? throw new InvalidOperationException("bench-batch did not resolve");
                // Each client sends its own input, as distinct users would.
                var docs = Enumerable.Range(0, 64).Select(i => new[] { new[] { InferenceTensor.Of("input", Input(models[0], i), 1, 64) } }).ToArray();
                settings.Add((ways[0], maxBatch, docs.Select(doc => (Func<Task>)(() => grains.InferTensors("bench-batch", doc))).ToArray()));
                settings.Add((ways[1], maxBatch, docs.Select(doc => (Func<Task>)(() => direct.InferTensorsAsync(target, doc, TimeSpan.FromSeconds(10)))).ToArray()));
            }
            var rounds = settings.Select(_ => new List<LoadLoop.Run>()).ToArray();
            foreach (var setting in settings) await LoadLoop.RunAsync(setting.Clients, setting.Clients.Length, TimeSpan.FromMilliseconds(500));
            for (var round = 0; round < BatchingRounds; round++)
                for (var s = 0; s < settings.Count; s++)
                    rounds[s].Add(await LoadLoop.RunAsync(settings[s].Clients, settings[s].Clients.Length, duration / BatchingRounds));
            foreach (var way in ways)
            {
                var unbatched = settings.Select((x, i) => (x, i)).Single(x => x.x.Way == way && x.x.MaxBatch == 1).i;
                var unbatchedRate = rounds[unbatched].Average(r => r.Rate);
                for (var s = 0; s < settings.Count; s++)
                {
                    if (settings[s].Way != way) continue;
                    var rate = rounds[s].Average(r => r.Rate);
                    batching.Row(way, settings[s].MaxBatch == 1 ? "no batching" : $"batches of up to {settings[s].MaxBatch}", rate,
                        Median(rounds[s].Select(r => r.P50)), Median(rounds[s].Select(r => r.P99)), (rate / unbatchedRate).ToString("0.00") + "×",
                        Math.Round(rounds[s].Sum(r => (double)r.AllocatedBytes) / rounds[s].Sum(r => r.Count)));
                }
            }
        }
        finally
        {
            foreach (var node in nodes) await node.DisposeAsync();
        }

        table.Print(output);
        overhead.Print(output);
        batching.Print(output);
        sessions.Print(output);
        output.WriteLine();
        output.WriteLine("Goals (issue 4): medium b/a ≥ 0.9 and c/a ≥ 0.75; tiny overhead p50 ≤ 20 µs (grain) and ≤ 150 µs (HTTP); batching ≥ 3× unbatched at 64 clients.");
    }

    private const int BatchingRounds = 6;
    private const int ThroughputRounds = 3;

    private sealed record Averaged(double Rate, double P50, double P99);

    private static async Task<(Averaged, Averaged, Averaged)> AlternatingAsync(TimeSpan duration, params (Func<Task> Call, int Callers)[] rows)
    {
        var runs = rows.Select(_ => new List<LoadLoop.Run>()).ToArray();
        foreach (var (call, callers) in rows) await LoadLoop.RunAsync(Enumerable.Repeat(call, callers).ToArray(), callers, TimeSpan.FromMilliseconds(500));
        for (var round = 0; round < ThroughputRounds; round++)
            for (var r = 0; r < rows.Length; r++)
                runs[r].Add(await LoadLoop.RunAsync(Enumerable.Repeat(rows[r].Call, rows[r].Callers).ToArray(), rows[r].Callers, duration / ThroughputRounds));
        var averaged = runs.Select(r => new Averaged(r.Average(x => x.Rate), Median(r.Select(x => x.P50)), Median(r.Select(x => x.P99)))).ToArray();
        return (averaged[0], averaged[1], averaged[2]);
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
    }

    /// <summary>ES promises one copy of the model per node: one shared session, against a session per allocation.</summary>
    private static ResultTable SessionChoice(Model model, TimeSpan duration)
    {
        var table = new ResultTable($"Session choice for {model.Name} ({model.Bytes.Length / (1 << 20)} MiB of weights), 2 callers, raw ORT")
            .Columns("sessions", "RSS added MiB", "inferences/s");
        var input = Input(model, 2);
        foreach (var perCaller in new[] { false, true })
        {
            GC.Collect();
            var before = Process.GetCurrentProcess().WorkingSet64;
            var sessions = Enumerable.Range(0, perCaller ? 2 : 1)
                .Select(_ => new OnnxSession(model.Bytes, new OnnxSessionOptions { IntraOpThreads = 1, InterOpThreads = 1 })).ToArray();
            var added = (Process.GetCurrentProcess().WorkingSet64 - before) / (double)(1 << 20);
            var caller = 0;
            var rate = MeasureAsync(2, duration, () =>
            {
                var session = sessions[(Interlocked.Increment(ref caller) & 1) % sessions.Length];
                session.Run([OnnxInput.Create(model.Input, input, model.Shape)]);
                return Task.CompletedTask;
            }).GetAwaiter().GetResult();
            table.Row(perCaller ? "one per allocation (2)" : "one shared (ES's promise, our choice)", added, rate.Rate);
            foreach (var s in sessions) s.Dispose();
        }
        return table;
    }

    private static float[] Input(Model model, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, model.Elements).Select(_ => (float)random.NextDouble()).ToArray();
    }

    internal static async Task<SiloHost> StartNodeAsync(string connectionString, int maxBatchSize) => await SiloHost.StartAsync(
    [
        "--Urls=http://127.0.0.1:0", .. BenchSecurity.Arguments, $"--ConnectionStrings:Postgres={connectionString}",
        $"--DataDirectory={Path.Combine(Path.GetTempPath(), "tmo-bench", Guid.NewGuid().ToString("N"))}",
        "--Node:Name=bench-node", $"--Serving:MaxBatchSize={maxBatchSize}",
        "--Logging:LogLevel:Default=Warning", "--Logging:LogLevel:TrainedModelsOrleans=Warning", "--Logging:LogLevel:Microsoft.Hosting.Lifetime=Warning",
        "--Logging:Console:LogToStandardErrorThreshold=Trace", // the node's logs (Orleans warns at start-up) on stderr, the tables on stdout
    ]);

    internal static async Task DeployAsync(HttpClient http, string id, byte[] model, int allocations)
    {
        await BenchHttp.UploadAsync(http, id, model);
        // cache_size=0: the benchmark sends the same input again and again, which a cache would answer.
        await BenchHttp.EnsureAsync(await http.PostAsync($"/_ml/trained_models/{id}/deployment/_start?number_of_allocations={allocations}&cache_size=0&queue_capacity=100000", null));
    }

    private static async Task StopAsync(HttpClient http, string id) => await BenchHttp.EnsureAsync(await http.PostAsync($"/_ml/trained_models/{id}/deployment/_stop", null));

    internal static string TensorBody(float[] data, long[] shape) =>
        new JsonObject
        {
            ["docs"] = new JsonArray(new JsonObject
            {
                ["tensor"] = new JsonObject
                {
                    ["shape"] = new JsonArray(shape.Select(d => (JsonNode?)d).ToArray()),
                    ["data"] = new JsonArray(data.Select(v => (JsonNode?)v).ToArray()),
                },
            }),
        }.ToJsonString();

    private static async Task PostAsync(HttpClient http, string id, byte[] body)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var response = await http.PostAsync($"/_ml/trained_models/{id}/_infer", content);
        await response.Content.ReadAsByteArrayAsync();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"{(int)response.StatusCode}");
    }

    /// <summary>The shared load loop after a warm-up at the same concurrency (so the measured part runs tiered-up code on a warm pool).</summary>
    private static Task<LoadLoop.Run> MeasureAsync(int callers, TimeSpan duration, Func<Task> call) => MeasureAsync(Enumerable.Repeat(call, callers).ToArray(), duration);

    private static async Task<LoadLoop.Run> MeasureAsync(Func<Task>[] callers, TimeSpan duration)
    {
        await LoadLoop.RunAsync(callers, callers.Length, TimeSpan.FromMilliseconds(500));
        return await LoadLoop.RunAsync(callers, callers.Length, duration);
    }
}
