using System.Globalization;
using Orleans;
using TrainedModelsOrleans.Grains.Wire;

namespace TrainedModelsOrleans.Bench;

/// <summary>
/// Orleans grain calls as the product makes them: two nodes started in this process with <c>SiloHost.StartAsync</c>
/// on one PostgreSQL database (ADO.NET clustering and storage), so two silos of one cluster that talk over loopback
/// TCP. Rows: a co-hosted call to a trivial grain, a [StatelessWorker], a call to a grain pinned on the other silo
/// ([SiloNamePlacement]), an external Orleans client through a gateway, and a persistent write.
/// </summary>
public static class RuntimeBenchmark
{
    private const int Grains = 64;
    private static readonly TimeSpan WarmUp = TimeSpan.FromMilliseconds(500);

    public static async Task RunAsync(Func<string, Task<string>> newDatabase, TimeSpan duration, TextWriter output)
    {
        var connectionString = await newDatabase("runtime");
        var suffix = Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        var (nameA, nameB) = ($"bench-a-{suffix}", $"bench-b-{suffix}");
        Console.Error.WriteLine($"  starting node {nameA} ...");
        // Sequentially: the first start applies the schema.
        await using var a = await InProcessNode.StartAsync(connectionString, nameA);
        Console.Error.WriteLine($"  starting node {nameB} ...");
        await using var b = await InProcessNode.StartAsync(connectionString, nameB);
        await a.WaitUntilActiveAsync([nameA, nameB], TimeSpan.FromSeconds(60));
        await b.WaitUntilActiveAsync([nameA, nameB], TimeSpan.FromSeconds(60));

        var table = new ResultTable($"Orleans grain calls ({Environment.ProcessorCount} cores, {duration.TotalSeconds:0.#} s per row after a {WarmUp.TotalSeconds:0.#} s warm-up; " +
                                    $"silos {nameA} (A) and {nameB} (B) in this process, one cluster on PostgreSQL, TCP between them)")
            .Columns("scenario", "callers", "calls/s", "p50 µs", "p99 µs", "samples");

        // Co-hosted calls on A (PreferLocal placement: the grains activate on A, the caller's silo).
        var local = Enumerable.Range(0, Grains).Select(i => a.Grains.GetGrain<IPingGrain>($"ping-{i}")).ToArray();
        Console.Error.WriteLine("  local calls on A ...");
        await RowAsync(table, "co-hosted → trivial grain (sequential)", Pings(local[..1]), 1, duration);
        await RowAsync(table, $"co-hosted → trivial grain ({Grains} grains)", Pings(local), 64, duration);

        var worker = a.Grains.GetGrain<IStatelessPingGrain>("worker");
        Func<Task> workerPing = () => worker.Ping(1);
        Console.Error.WriteLine("  [StatelessWorker] on A ...");
        await RowAsync(table, "co-hosted → [StatelessWorker] (sequential)", [workerPing], 1, duration);
        await RowAsync(table, "co-hosted → [StatelessWorker] (1 id, local pool)", [workerPing], 64, duration);

        // Cross-silo: grains pinned to B by their key, called from A. Each must say it runs on B.
        var remote = Enumerable.Range(0, Grains).Select(i => a.Grains.GetGrain<ISiloPingGrain>($"{nameB}/remote-{i}")).ToArray();
        var remoteSilos = await ExpectSiloAsync(remote, nameB, $"called from {nameA}");
        Console.Error.WriteLine("  cross-silo A → B ...");
        await RowAsync(table, "cross-silo A → B, [SiloNamePlacement] (sequential)", Pings(remote[..1]), 1, duration);
        await RowAsync(table, $"cross-silo A → B, [SiloNamePlacement] ({Grains} grains)", Pings(remote), 64, duration);

        // The external client (the SDK other services use), through A's gateway, to grains pinned on A: one hop.
        Console.Error.WriteLine($"  external client via {a.Gateway} ...");
        await using (var client = await TrainedModelsClient.ConnectAsync([a.Gateway]).WaitAsync(TimeSpan.FromSeconds(60)))
        {
            var viaGateway = Enumerable.Range(0, Grains).Select(i => client.GetGrain<ISiloPingGrain>($"{nameA}/client-{i}")).ToArray();
            await ExpectSiloAsync(viaGateway, nameA, $"called by a client of {nameA}'s gateway");
            await RowAsync(table, "external client → gateway A → grain on A (sequential)", Pings(viaGateway[..1]), 1, duration);
            await RowAsync(table, $"external client → gateway A → grain on A ({Grains} grains)", Pings(viaGateway), 64, duration);
        }

        // Persistent writes: ADO.NET storage on PostgreSQL, one version-checked row write per call.
        Console.Error.WriteLine("  persistent writes ...");
        var writeDuration = TimeSpan.FromSeconds(Math.Min(duration.TotalSeconds, 5));
        var tally = a.Grains.GetGrain<ITallyGrain>($"tally-{Guid.NewGuid():N}");
        await RowAsync(table, "WriteStateAsync, ADO.NET on PostgreSQL (sequential)", [() => tally.Add()], 1, writeDuration, maxSamples: 200_000);
        var tallies = Enumerable.Range(0, 16).Select(i => a.Grains.GetGrain<ITallyGrain>($"tally-{i}-{Guid.NewGuid():N}")).ToArray();
        await RowAsync(table, "WriteStateAsync, ADO.NET on PostgreSQL (16 grains)", tallies.Select(t => (Func<Task>)(() => t.Add())).ToArray(), 16, writeDuration);

        table.Print(output);
        output.WriteLine();
        output.WriteLine($"Cross-silo proof: all {Grains} [SiloNamePlacement] grains called from A answered with silo name {string.Join(", ", remoteSilos)}; " +
                         "the client's grains answered with A's. 1 caller: every call timed; more callers: every 16th.");
        output.WriteLine("For comparison, ORLEANS.md §11 (3 s rows, load ≈1.9): co-hosted 108k / 497k, [StatelessWorker] 330k / 794k, " +
                         "cross-silo between two processes 6.6k (1 caller) / 71k (64 grains), external client 6.1k / 88k calls/s; plain call + WriteStateAsync 1.32 ms.");
    }

    private static Func<Task>[] Pings(IPingGrain[] grains) => grains.Select(g => (Func<Task>)(() => g.Ping(1))).ToArray();

    private static Func<Task>[] Pings(ISiloPingGrain[] grains) => grains.Select(g => (Func<Task>)(() => g.Ping(1))).ToArray();

    /// <summary>Activates the targets and warms up at the measured concurrency, then measures one row.</summary>
    private static async Task RowAsync(ResultTable table, string scenario, Func<Task>[] targets, int callers, TimeSpan duration, int maxSamples = 2_000_000)
    {
        foreach (var target in targets) await target();
        await LoadLoop.RunAsync(targets, callers, WarmUp, maxSamples);
        var run = await LoadLoop.RunAsync(targets, callers, duration, maxSamples);
        table.Row(scenario, callers, run.Rate, run.P50, run.P99, run.Samples.Count);
    }

    private static async Task<string[]> ExpectSiloAsync(ISiloPingGrain[] grains, string silo, string how)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var grain in grains)
        {
            var where = await grain.Silo();
            if (where != silo) throw new InvalidOperationException($"{grain.GetPrimaryKeyString()} {how} runs on {where}, not on {silo}.");
            seen.Add(where);
        }
        return seen.ToArray();
    }
}
