using System.Diagnostics;
using TrainedModelsOrleans.Runtime.Messaging;
using Xunit;
using Xunit.Abstractions;
using static TrainedModelsOrleans.Runtime.Tests.Messaging.TransportTestKit;

namespace TrainedModelsOrleans.Runtime.Tests.Messaging;

/// <summary>
/// A measurement, not a test of speed: prints calls/s and latency percentiles for small calls between two
/// in-process endpoints. MESSAGING_BENCH_CALLS sets the number of calls (default 20,000).
/// </summary>
[Collection(nameof(TransportTests))]
public sealed class TransportThroughput(ITestOutputHelper output)
{
    [Fact]
    public async Task Small_calls_from_64_concurrent_callers()
    {
        var total = int.TryParse(Environment.GetEnvironmentVariable("MESSAGING_BENCH_CALLS"), out var n) ? n : 20_000;
        const int callers = 64;
        var logger = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        await using var listener = Listen(Echo, logger);
        await using var peers = new PeerConnections(Caller, logger);
        var address = AddressOf(listener);
        var arguments = new byte[32];

        await RunAsync(Math.Min(total, 5_000));
        var latencies = new long[total];
        var clock = Stopwatch.StartNew();
        await RunAsync(total, latencies);
        var elapsed = clock.Elapsed;

        Array.Sort(latencies);
        double Micros(double q) => Stopwatch.GetElapsedTime(0, latencies[(int)(q * (total - 1))]).TotalMicroseconds;
        output.WriteLine($"{total} calls, {callers} callers: {total / elapsed.TotalSeconds:N0} calls/s; " +
            $"p50 {Micros(0.5):N0} µs, p90 {Micros(0.9):N0} µs, p99 {Micros(0.99):N0} µs, max {Micros(1):N0} µs");

        async Task RunAsync(int count, long[]? record = null)
        {
            var next = -1;
            await Task.WhenAll(Enumerable.Range(0, callers).Select(_ => Task.Run(async () =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < count)
                {
                    var start = Stopwatch.GetTimestamp();
                    var response = await peers.CallAsync(address, Header(), arguments);
                    if (record is not null) record[i] = Stopwatch.GetTimestamp() - start;
                    Assert.Equal(CallStatus.Ok, response.Status);
                }
            }))).WaitAsync(TimeSpan.FromMinutes(2));
        }
    }
}
