using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using TrainedModelsOrleans.Inference.OnnxRuntime;
using TrainedModelsOrleans.PublishedModels;
using TrainedModelsOrleans.Silo;

namespace TrainedModelsOrleans.Bench;

/// <summary>
/// A published text model served as Elasticsearch serves one: MiniLM (all-MiniLM-L6-v2, 91 MB of fp32
/// weights) uploaded over HTTP as a text_embedding model with its vocabulary, `_infer` on text at 1 and 64
/// HTTP clients, next to raw ONNX Runtime running the same sentences' token ids in a loop, in the same run.
/// The sentences are the six of tests/PublishedModels/reference (3 to 13 tokens); every caller cycles
/// through all six. 2 allocations × 1 thread, the node's default serving settings (batches of up to 32),
/// cache_size=0 (the same texts come back again and again, which a cache would answer).
/// </summary>
public static class TextModelBenchmark
{
    private const string ModelId = "bench-minilm";
    private const int Rounds = 3;

    public static async Task RunAsync(Func<string, Task<string>> newDatabase, TimeSpan duration, TextWriter output)
    {
        byte[] model = MiniLm.Model();
        IReadOnlyList<MiniLmReferenceSentence> sentences = MiniLm.Reference().Sentences;
        var table = new ResultTable(
                $"Text model: MiniLM text_embedding over HTTP vs raw ONNX Runtime ({Environment.ProcessorCount} cores, 2 allocations × 1 thread, " +
                $"{sentences.Count} sentences of {sentences.Min(s => s.TokenIds.Length)}–{sentences.Max(s => s.TokenIds.Length)} tokens, " +
                $"{duration.TotalSeconds:0} s per row in {Rounds} alternating rounds)")
            .Columns("path", "callers", "inferences/s", "p50 µs", "p99 µs", "vs raw, same callers' threads", "CPU µs per inference");

        await using var node = await SiloHost.StartAsync(
        [
            "--Urls=http://127.0.0.1:0", .. BenchSecurity.Arguments, $"--ConnectionStrings:Postgres={await newDatabase("textmodel")}",
            $"--DataDirectory={Path.Combine(Path.GetTempPath(), "tmo-bench", Guid.NewGuid().ToString("N"))}",
            "--Node:Name=bench-node",
            "--Logging:LogLevel:Default=Warning", "--Logging:LogLevel:TrainedModelsOrleans=Warning", "--Logging:LogLevel:Microsoft.Hosting.Lifetime=Warning",
            "--Logging:Console:LogToStandardErrorThreshold=Trace",
        ]);
        using var http = BenchSecurity.Client(node.BaseAddress, TimeSpan.FromMinutes(2));
        Console.Error.WriteLine($"  uploading MiniLM ({model.Length / (1 << 20)} MiB) and its vocabulary ...");
        await BenchHttp.UploadAsync(http, ModelId, MiniLm.Config("text_embedding"), model, partBytes: 4 << 20);
        await BenchHttp.EnsureAsync(await http.PutAsync($"/_ml/trained_models/{ModelId}/vocabulary", Json(MiniLm.VocabularyBody())));
        await BenchHttp.EnsureAsync(await http.PostAsync(
            $"/_ml/trained_models/{ModelId}/deployment/_start?number_of_allocations=2&threads_per_allocation=1&cache_size=0&queue_capacity=100000&wait_for=started", null));

        using var session = new OnnxSession(model, new OnnxSessionOptions { IntraOpThreads = 1, InterOpThreads = 1 });
        OnnxInput[][] inputs = sentences.Select(Inputs).ToArray();
        byte[][] bodies = sentences.Select(s => Encoding.UTF8.GetBytes(new JsonObject
        {
            ["docs"] = new JsonArray(new JsonObject { ["text_field"] = s.Text }),
        }.ToJsonString())).ToArray();

        // Each caller cycles through the sentences from its own starting point.
        Func<Task>[] Callers(int count, Func<int, Task> call) => Enumerable.Range(0, count).Select(c =>
        {
            int next = c;
            return (Func<Task>)(() => call(next++ % sentences.Count));
        }).ToArray();
        Task Raw(int s)
        {
            session.Run(inputs[s]);
            return Task.CompletedTask;
        }
        Task Post(int s) => PostAsync(http, bodies[s]);

        var rows = new (string Path, Func<Task>[] Callers)[]
        {
            ("(a) raw ORT, batch 1", Callers(1, Raw)),
            ("(a) raw ORT, batch 1", Callers(2, Raw)),
            ("(c) HTTP _infer, one doc per request", Callers(1, Post)),
            ("(c) HTTP _infer, one doc per request", Callers(64, Post)),
        };
        var runs = rows.Select(_ => new List<LoadLoop.Run>()).ToArray();
        // CPU time this process (client, service and raw loop alike) spends per inference: on a machine shared with
        // other work, throughput follows the share of the cores the process gets; this follows the work done.
        var cpu = rows.Select(_ => (Time: TimeSpan.Zero, Count: 0.0)).ToArray();
        foreach (var row in rows) await LoadLoop.RunAsync(row.Callers, row.Callers.Length, TimeSpan.FromSeconds(1));
        for (int round = 0; round < Rounds; round++)
        {
            for (int r = 0; r < rows.Length; r++)
            {
                Console.Error.WriteLine($"  round {round + 1}: {rows[r].Path}, {rows[r].Callers.Length} callers ...");
                var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
                var clock = Stopwatch.StartNew();
                var run = await LoadLoop.RunAsync(rows[r].Callers, rows[r].Callers.Length, duration / Rounds);
                cpu[r] = (cpu[r].Time + (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore), cpu[r].Count + (run.Rate * clock.Elapsed.TotalSeconds));
                runs[r].Add(run);
            }
        }

        double[] rates = runs.Select(r => r.Average(x => x.Rate)).ToArray();
        for (int r = 0; r < rows.Length; r++)
        {
            // 1 HTTP client is held against 1 raw caller; 64 clients against the 2 raw callers the 2 allocations' threads give.
            double baseline = rows[r].Callers.Length == 1 ? rates[0] : rates[1];
            table.Row(rows[r].Path, rows[r].Callers.Length, rates[r], Median(runs[r].Select(x => x.P50)), Median(runs[r].Select(x => x.P99)),
                (rates[r] / baseline).ToString("0.00"), cpu[r].Time.TotalMicroseconds / cpu[r].Count);
        }

        await BenchHttp.EnsureAsync(await http.PostAsync($"/_ml/trained_models/{ModelId}/deployment/_stop", null));
        table.Print(output);
        output.WriteLine();
        output.WriteLine("(a) runs the sentences' token ids (Hugging Face tokenizers', as the service's) straight through the session; (c) adds JSON, " +
            "tokenization, the queue, batching across concurrent requests (padded to the batch's longest sentence) and the HTTP round trip.");
    }

    private static OnnxInput[] Inputs(MiniLmReferenceSentence sentence)
    {
        int n = sentence.TokenIds.Length;
        long[] shape = [1, n];
        return
        [
            OnnxInput.Create("input_ids", sentence.TokenIds.Select(id => (long)id).ToArray(), shape),
            OnnxInput.Create("attention_mask", Enumerable.Repeat(1L, n).ToArray(), shape),
            OnnxInput.Create("token_type_ids", new long[n], shape),
        ];
    }

    private static StringContent Json(JsonNode body) => new(body.ToJsonString(), Encoding.UTF8, "application/json");

    private static async Task PostAsync(HttpClient http, byte[] body)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await http.PostAsync($"/_ml/trained_models/{ModelId}/_infer", content);
        await response.Content.ReadAsByteArrayAsync();
        if (!response.IsSuccessStatusCode) throw new InvalidOperationException($"_infer answered {(int)response.StatusCode}");
    }

    private static double Median(IEnumerable<double> values)
    {
        double[] sorted = values.Order().ToArray();
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
