using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using TrainedModelsOrleans.Runtime;
using TrainedModelsOrleans.Runtime.Configuration;
using TrainedModelsOrleans.Runtime.Hosting;
using TrainedModelsOrleans.Runtime.Persistence;
using TrainedModelsOrleans.Runtime.Storage;

namespace TrainedModelsOrleans.Bench;

/// <summary>
/// Local grain calls: throughput with many concurrent callers, latency of one caller, and the latency
/// of a persistent write (one Postgres round trip with the ETag check).
/// </summary>
public static class RuntimeBenchmark
{
    public static async Task RunAsync(NpgsqlDataSource dataSource, TimeSpan duration, TextWriter output)
    {
        await SchemaMigrator.ApplyAsync(dataSource, Path.Combine(AppContext.BaseDirectory, "db"), NullLogger.Instance, CancellationToken.None);
        await using var services = new ServiceCollection().BuildServiceProvider();
        await using var silo = new Runtime.Hosting.Silo(dataSource, new GrainStorage(dataSource), services, new GrainRuntimeOptions(),
            new SiloOptions { SiloName = "bench-" + Environment.ProcessId, Address = "127.0.0.1:0" },
            [typeof(RuntimeBenchmark).Assembly], NullLogger<Runtime.Hosting.Silo>.Instance);
        await silo.StartAsync(CancellationToken.None);

        var table = new ResultTable($"Local grain calls ({Environment.ProcessorCount} cores, {duration.TotalSeconds:0} s per row)")
            .Columns("scenario", "calls/s", "p50 µs", "p99 µs", "samples");

        // Warm up JIT and activations.
        var grains = Enumerable.Range(0, 64).Select(i => silo.GetGrain<IPingGrain>("ping-" + i)).ToArray();
        foreach (var grain in grains) await grain.Ping(0);
        await ThroughputAsync(grains, 64, TimeSpan.FromSeconds(1));

        var latency = await LatencyAsync(grains[0], duration);
        table.Row("1 caller, sequential (non-persistent)", latency.Rate, latency.Samples.PercentileMicros(0.5), latency.Samples.PercentileMicros(0.99), latency.Samples.Count);
        foreach (var callers in new[] { 2, 16, 64, 256 })
        {
            var run = await ThroughputAsync(grains, callers, duration);
            table.Row($"{callers} callers over 64 grains", run.Rate, run.Samples.PercentileMicros(0.5), run.Samples.PercentileMicros(0.99), run.Samples.Count);
        }
        var hot = await ThroughputAsync([grains[0]], 64, duration);
        table.Row("64 callers on 1 grain (one mailbox)", hot.Rate, hot.Samples.PercentileMicros(0.5), hot.Samples.PercentileMicros(0.99), hot.Samples.Count);

        var tally = silo.GetGrain<ITallyGrain>("tally-" + Guid.NewGuid());
        await tally.Add();
        var writes = await LatencyAsync(() => tally.Add(), TimeSpan.FromSeconds(Math.Min(duration.TotalSeconds, 5)), 200_000);
        table.Row("persistent write (1 caller, ETag-checked UPDATE)", writes.Rate, writes.Samples.PercentileMicros(0.5), writes.Samples.PercentileMicros(0.99), writes.Samples.Count);
        var tallies = Enumerable.Range(0, 16).Select(i => silo.GetGrain<ITallyGrain>($"tally-{i}-{Guid.NewGuid()}")).ToArray();
        var parallelWrites = await ThroughputAsync(tallies.Select(t => (Func<Task>)(() => t.Add())).ToArray(), 16, TimeSpan.FromSeconds(Math.Min(duration.TotalSeconds, 5)));
        table.Row("persistent write (16 grains in parallel)", parallelWrites.Rate, parallelWrites.Samples.PercentileMicros(0.5), parallelWrites.Samples.PercentileMicros(0.99), parallelWrites.Samples.Count);

        table.Print(output);
        output.WriteLine();
        output.WriteLine("Goal (issue 2): >= 300,000 local calls/s and p50 < 10 µs for a non-persistent call.");
    }

    private static Task<LoadLoop.Run> LatencyAsync(IPingGrain grain, TimeSpan duration) =>
        LatencyAsync(() => grain.Ping(1), duration, 2_000_000);

    private static Task<LoadLoop.Run> LatencyAsync(Func<Task> call, TimeSpan duration, int maxSamples) =>
        LoadLoop.RunAsync([call], 1, duration, maxSamples);

    private static Task<LoadLoop.Run> ThroughputAsync(IPingGrain[] grains, int callers, TimeSpan duration) =>
        ThroughputAsync(grains.Select(g => (Func<Task>)(() => g.Ping(1))).ToArray(), callers, duration);

    private static Task<LoadLoop.Run> ThroughputAsync(Func<Task>[] targets, int callers, TimeSpan duration) =>
        LoadLoop.RunAsync(targets, callers, duration, 1_000_000);
}
