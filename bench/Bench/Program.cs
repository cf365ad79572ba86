using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging.Abstractions;
using TrainedModelsOrleans.Bench;
using TrainedModelsOrleans.Silo.Storage;

// Usage: dotnet run -c Release --project bench/Bench -- [runtime|planner|tokenization|controlplane|adaptive|inference|text|cluster|peers|uploads|soak|all] [--seconds N] [--minutes N (soak, default 10; not part of all)] [--connection "<npgsql>"] [--gc default,datas,server,workstation (peers, uploads: one service process per GC mode)] [--model tiny|medium (peers)]
var suite = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal)) ?? "all";
var seconds = OptionValue("--seconds") is { } s ? double.Parse(s, System.Globalization.CultureInfo.InvariantCulture) : 3;
var connection = OptionValue("--connection");

Console.WriteLine($"# TrainedModelsOrleans benchmarks — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1L << 30)} GiB, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}");

if (suite is "planner" or "all")
{
    Console.Error.WriteLine("planner: 100 nodes × 1,000 deployments, 10 × 100 ...");
    PlannerBenchmark.Run(Console.Out);
    if (suite is "planner") return;
}

if (suite is "tokenization" or "all")
{
    Console.Error.WriteLine("tokenization: µs per document for every tokenization type at 16 and 128 tokens ...");
    TokenizationBenchmark.Run(Console.Out, TimeSpan.FromSeconds(seconds));
    if (suite is "tokenization") return;
}

EmbeddedPostgres? embedded = null;
var folder = Path.Combine(Path.GetTempPath(), "tmo-bench", Guid.NewGuid().ToString("N"));
if (connection is null)
{
    Console.Error.WriteLine($"starting a private PostgreSQL in {folder} ...");
    embedded = await EmbeddedPostgres.StartAsync(new EmbeddedPostgresOptions { DataDirectory = Path.Combine(folder, "postgres") },
        NullLogger.Instance, CancellationToken.None);
    connection = embedded.ConnectionString;
}
// Ctrl-C or SIGTERM skips finally blocks: kill the silo processes and stop the private PostgreSQL before the process
// goes. The nodes started in this process (SiloHost) register the host's console lifetime, which cancels the signal's
// default action to stop gracefully: exit here instead, so the bench still ends on SIGTERM.
Timer? exitWatchdog = null;
using var onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
try
{
    if (suite is "runtime" or "all")
    {
        Console.Error.WriteLine("runtime: Orleans grain calls (co-hosted, stateless worker, cross-silo, external client) and persistent writes ...");
        await RuntimeBenchmark.RunAsync(NewDatabaseAsync, TimeSpan.FromSeconds(seconds), Console.Out);
    }
    if (suite is "inference" or "all")
    {
        Console.Error.WriteLine("inference: raw ONNX Runtime vs grain path vs HTTP, three models, batching ...");
        await InferenceBenchmark.RunAsync(NewDatabaseAsync, TimeSpan.FromSeconds(seconds), Console.Out);
    }
    if (suite is "text" or "all")
    {
        Console.Error.WriteLine("text: a published text model (MiniLM) over HTTP at 1 and 64 clients vs raw ONNX Runtime ...");
        await TextModelBenchmark.RunAsync(NewDatabaseAsync, TimeSpan.FromSeconds(seconds), Console.Out);
    }
    if (suite is "cluster" or "all")
    {
        Console.Error.WriteLine("cluster: failover after kill -9 of one of three silo processes ...");
        await ClusterBenchmark.RunAsync(NewDatabaseAsync, Console.Out);
    }
    if (suite is "peers" or "all")
    {
        Console.Error.WriteLine("peers: the service's _infer against a Node.js server over onnxruntime-node and the Kestrel floor, driven by wrk ...");
        var gcModes = (OptionValue("--gc") ?? "default").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(PeersBenchmark.GcMode.Parse).ToArray();
        await PeersBenchmark.RunAsync(NewDatabaseAsync, TimeSpan.FromSeconds(seconds), gcModes, PeersBenchmark.PeerModel.Parse(OptionValue("--model") ?? "tiny"), Console.Out);
    }
    if (suite is "uploads" or "all")
    {
        Console.Error.WriteLine("uploads: 4 sequential + 4 concurrent ~89 MB definition parts; RSS at start, peak, 60 s after ...");
        var gcModes = (OptionValue("--gc") ?? "default").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(PeersBenchmark.GcMode.Parse).ToArray();
        await UploadsBenchmark.RunAsync(NewDatabaseAsync, gcModes, TimeSpan.FromSeconds(60), Console.Out);
    }
    if (suite is "soak")
    {
        var minutes = OptionValue("--minutes") is { } m ? double.Parse(m, System.Globalization.CultureInfo.InvariantCulture) : 10;
        Console.Error.WriteLine($"soak: {minutes} min of inference and control-plane cycles against the silo in its own process; memory, threads, handles and p99 at start and end ...");
        if (!await SoakBenchmark.RunAsync(NewDatabaseAsync, TimeSpan.FromMinutes(minutes), Console.Out))
        {
            Console.Error.WriteLine("soak: an acknowledged operation failed its check, or a request answered an unexpected status (see the failures above)");
            Environment.ExitCode = 1;
        }
    }
    if (suite is "adaptive" or "all")
    {
        Console.Error.WriteLine("adaptive: seconds the adaptive allocations scaler takes to scale up after a load step and back down after it stops ...");
        var database = embedded is not null ? await embedded.CreateDatabaseAsync("adaptive", CancellationToken.None) : connection;
        await AdaptiveBenchmark.RunAsync(database, rounds: 2, Console.Out);
    }
    if (suite is "controlplane" or "all")
    {
        Console.Error.WriteLine("control plane: start / stop / update / alias moves over HTTP ...");
        var database = embedded is not null ? await embedded.CreateDatabaseAsync("controlplane", CancellationToken.None) : connection;
        await ControlPlaneBenchmark.RunAsync(database, rounds: 20, Console.Out);
    }
}
finally
{
    BenchProcess.KillAll();
    StopEmbedded();
}

void OnSignal(PosixSignalContext context)
{
    // Should the clean-up or Exit itself hang (a process-exit handler waiting), the process still goes.
    exitWatchdog ??= new Timer(_ => System.Diagnostics.Process.GetCurrentProcess().Kill(), null, TimeSpan.FromSeconds(45), Timeout.InfiniteTimeSpan);
    Console.Error.WriteLine($"{context.Signal}: killing the silo processes, stopping PostgreSQL, exiting ...");
    BenchProcess.KillAll();
    StopEmbedded();
    Environment.Exit(context.Signal == PosixSignal.SIGINT ? 130 : 143);
}

void StopEmbedded()
{
    var server = Interlocked.Exchange(ref embedded, null);
    if (server is null) return;
    server.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(30));
    try { Directory.Delete(folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
}

async Task<string> NewDatabaseAsync(string name) =>
    embedded is not null ? await embedded.CreateDatabaseAsync(name, CancellationToken.None) : connection;

string? OptionValue(string name)
{
    var index = Array.IndexOf(args, name);
    return index >= 0 && index + 1 < args.Length ? args[index + 1] : null;
}
