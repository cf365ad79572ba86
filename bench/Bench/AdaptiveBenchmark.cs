using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using TrainedModelsOrleans.Silo;
using TrainedModelsOrleans.TestModels;

namespace TrainedModelsOrleans.Bench;

/// <summary>
/// The adaptive allocations scaler over the real HTTP API: how long after a step in load the count rises above min (and
/// reaches its peak), and how long after the load stops it is back at min, with short intervals and cool-downs.
/// </summary>
public static class AdaptiveBenchmark
{
    private const int Clients = 4;
    private const int Min = 1, Max = 4;
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Cooldown = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan PhaseLimit = TimeSpan.FromSeconds(90);

    public static async Task RunAsync(string connectionString, int rounds, TextWriter output)
    {
        await using var node = await InProcessNode.StartAsync(connectionString, "bench-node", "--Node:Processors=4",
            $"--Ml:AdaptiveAllocations:PollInterval={PollInterval:c}", $"--Ml:AdaptiveAllocations:ScaleCooldownTime={Cooldown:c}");
        using var http = BenchSecurity.Client(node.Host.BaseAddress);
        // A run of a few ms (400 small MatMuls; no result cache, every request is the same): the model's time, not HTTP's, is what keeps allocations busy.
        var model = TestOnnxModels.IdentityChain(width: 64, depth: 400);
        await BenchHttp.UploadAsync(http, "bench-adaptive", model);
        var body = $$$"""{"docs":[{"tensor":{"shape":[1,64],"data":[{{{string.Join(",", Enumerable.Range(0, 64).Select(i => (i / 64f).ToString("R", CultureInfo.InvariantCulture)))}}}]}}]}""";

        var table = new ResultTable($"Adaptive allocations (one node of 4 processors, min {Min}, max {Max}, {Clients} HTTP clients on a model of 400 64×64 MatMuls; " +
                                    $"poll every {PollInterval.TotalSeconds:0.#} s, cool-down {Cooldown.TotalSeconds:0} s)")
            .Columns("round", "above min s", "peak", "peak s", "requests/s at peak", "back to min s after load stops");
        for (var round = 1; round <= rounds; round++)
        {
            Console.Error.WriteLine($"  adaptive round {round}/{rounds} ...");
            await BenchHttp.EnsureAsync(await http.PostAsync("/_ml/trained_models/bench-adaptive/deployment/_start?cache_size=0",
                new StringContent($$$"""{"adaptive_allocations":{"enabled":true,"min_number_of_allocations":{{{Min}}},"max_number_of_allocations":{{{Max}}}}}""",
                    Encoding.UTF8, "application/json")));
            await Task.Delay(Cooldown); // the node's start counts as a scale up

            using var stop = new CancellationTokenSource(PhaseLimit);
            long answered = 0;
            var clock = Stopwatch.StartNew();
            var clients = Enumerable.Range(0, Clients).Select(_ => Task.Run(async () =>
            {
                while (!stop.IsCancellationRequested)
                {
                    using var response = await http.PostAsync("/_ml/trained_models/bench-adaptive/_infer", new StringContent(body, Encoding.UTF8, "application/json"));
                    if (response.IsSuccessStatusCode) Interlocked.Increment(ref answered);
                }
            })).ToArray();
            double aboveMin = double.NaN, peakAt = double.NaN, rate = double.NaN;
            var peak = Min;
            var lastChange = TimeSpan.Zero;
            while (clock.Elapsed < PhaseLimit)
            {
                await Task.Delay(200);
                var now = await AllocationsAsync(http);
                if (now > peak)
                {
                    (peak, peakAt, lastChange) = (now, clock.Elapsed.TotalSeconds, clock.Elapsed);
                    if (double.IsNaN(aboveMin)) aboveMin = peakAt;
                    rate = Interlocked.Read(ref answered) / clock.Elapsed.TotalSeconds;
                }
                // Settled: at max, or no rise for 10 polls.
                if (peak == Max || (peak > Min && clock.Elapsed - lastChange > 10 * PollInterval)) break;
            }
            await stop.CancelAsync();
            await Task.WhenAll(clients);

            var stopped = Stopwatch.StartNew();
            double backToMin = double.NaN;
            while (stopped.Elapsed < PhaseLimit)
            {
                await Task.Delay(200);
                if (await AllocationsAsync(http) == Min)
                {
                    backToMin = stopped.Elapsed.TotalSeconds;
                    break;
                }
            }
            table.Row(round.ToString(CultureInfo.InvariantCulture), aboveMin, peak.ToString(CultureInfo.InvariantCulture), peakAt, rate, backToMin);
            await BenchHttp.EnsureAsync(await http.PostAsync("/_ml/trained_models/bench-adaptive/deployment/_stop", null));
        }
        table.Print(output);
    }

    private static async Task<int> AllocationsAsync(HttpClient http)
    {
        var stats = JsonNode.Parse(await http.GetStringAsync("/_ml/trained_models/bench-adaptive/_stats"))!;
        return stats["trained_model_stats"]![0]!["deployment_stats"]!["number_of_allocations"]!.GetValue<int>();
    }
}
