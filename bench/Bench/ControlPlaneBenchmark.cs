using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using TrainedModelsOrleans.Silo;
using TrainedModelsOrleans.TestModels;

namespace TrainedModelsOrleans.Bench;

/// <summary>
/// The control plane through the real HTTP API: start to `started` (the model opened in ONNX Runtime),
/// stop, update, and alias moves, each timed end to end from a client on loopback.
/// </summary>
public static class ControlPlaneBenchmark
{
    public static async Task RunAsync(string connectionString, int rounds, TextWriter output)
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "tmo-bench", "node-" + Guid.NewGuid().ToString("N"));
        await using var node = await SiloHost.StartAsync(
        [
            "--Urls=http://127.0.0.1:0", .. BenchSecurity.Arguments, $"--ConnectionStrings:Postgres={connectionString}", $"--DataDirectory={dataDirectory}",
            "--Node:Name=bench-node", "--Node:Processors=4", "--Logging:LogLevel:Default=Warning",
            "--Logging:LogLevel:TrainedModelsOrleans=Warning", "--Logging:LogLevel:Microsoft.Hosting.Lifetime=Warning",
            "--Logging:Console:LogToStandardErrorThreshold=Trace", // the node's logs (Orleans warns at start-up) on stderr, the tables on stdout
        ]);
        using var http = BenchSecurity.Client(node.BaseAddress);

        var models = new[] { "bench-a", "bench-b" };
        foreach (var model in models) await BenchHttp.UploadAsync(http, model, TestOnnxModels.Mlp());

        var start = new LatencySamples(rounds);
        var stop = new LatencySamples(rounds);
        for (var i = 0; i < rounds; i++)
        {
            start.Add(await TimeAsync(() => http.PostAsync("/_ml/trained_models/bench-a/deployment/_start", null)));
            stop.Add(await TimeAsync(() => http.PostAsync("/_ml/trained_models/bench-a/deployment/_stop", null)));
        }

        await BenchHttp.EnsureAsync(await http.PostAsync("/_ml/trained_models/bench-a/deployment/_start", null));
        await BenchHttp.EnsureAsync(await http.PostAsync("/_ml/trained_models/bench-b/deployment/_start", null));
        var update = new LatencySamples(rounds * 2);
        for (var i = 0; i < rounds; i++)
        {
            update.Add(await TimeAsync(() => http.PostAsJsonAsync("/_ml/trained_models/bench-a/deployment/_update", new { number_of_allocations = 2 })));
            update.Add(await TimeAsync(() => http.PostAsJsonAsync("/_ml/trained_models/bench-a/deployment/_update", new { number_of_allocations = 1 })));
        }

        await BenchHttp.EnsureAsync(await http.PutAsync("/_ml/trained_models/bench-a/model_aliases/bench-alias", null));
        var alias = new LatencySamples(rounds * 2);
        for (var i = 0; i < rounds * 2; i++)
        {
            var target = models[(i + 1) % 2];
            alias.Add(await TimeAsync(() => http.PutAsync($"/_ml/trained_models/{target}/model_aliases/bench-alias?reassign=true", null)));
        }

        var table = new ResultTable($"Control plane over HTTP (one node, {rounds} rounds each, MLP model of {TestOnnxModels.Mlp().Length / 1024} KiB)")
            .Columns("operation", "p50 ms", "p99 ms", "samples");
        table.Row("start, wait_for=started (model opened in ONNX Runtime)", Ms(start, 0.5), Ms(start, 0.99), start.Count);
        table.Row("stop", Ms(stop, 0.5), Ms(stop, 0.99), stop.Count);
        table.Row("update number_of_allocations (1 <-> 2)", Ms(update, 0.5), Ms(update, 0.99), update.Count);
        table.Row("alias move (reassign between two deployed models)", Ms(alias, 0.5), Ms(alias, 0.99), alias.Count);
        table.Print(output);
        try { Directory.Delete(dataDirectory, recursive: true); } catch (IOException) { }
    }

    private static double Ms(LatencySamples samples, double p) => samples.PercentileMicros(p) / 1000;

    private static async Task<long> TimeAsync(Func<Task<HttpResponseMessage>> call)
    {
        var started = Stopwatch.GetTimestamp();
        using var response = await call();
        var elapsed = Stopwatch.GetTimestamp() - started;
        await BenchHttp.EnsureAsync(response);
        return elapsed;
    }
}
