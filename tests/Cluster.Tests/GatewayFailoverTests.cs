using System.Collections.Concurrent;
using System.Diagnostics;
using TrainedModelsOrleans.Grains.Cluster;
using TrainedModelsOrleans.Grains.ModelStore;
using Orleans.Runtime;
using Xunit;
using Xunit.Abstractions;

namespace TrainedModelsOrleans.Cluster.Tests;

public sealed class GatewayFailoverTests(ITestOutputHelper output)
{
    private static readonly TimeSpan CallBound = TimeSpan.FromSeconds(15);

    /// <summary>
    /// The Orleans client over two gateways: calls in flight on the killed gateway end with an answer or the runtime's
    /// error within the client's response timeout; later calls go through the surviving gateway.
    /// </summary>
    [Fact]
    public async Task The_client_fails_over_to_the_next_gateway_and_a_call_in_flight_at_the_kill_succeeds_or_fails_with_the_runtimes_error()
    {
        await using var cluster = await TestCluster.StartAsync(new TestClusterOptions { Silos = 2 }, output);
        var model = await TinyModel.UploadAsync(cluster[1].Http);
        var client = (await cluster.CreateClientAsync(cluster[0], cluster[1])).Client;
        var info = client.GetGrain<IClusterInfoGrain>("cluster");
        var uuid = await info.GetClusterUuid().WaitAsync(CallBound);
        Assert.False(string.IsNullOrEmpty(uuid));

        // Calls keep flowing while silo 0 is killed: each ends, on time, with an answer or one of the runtime's errors.
        var outcomes = new ConcurrentBag<string>();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60)); // ends the callers even if the test fails first
        var callers = Enumerable.Range(0, 4).Select(c => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                // A stateless worker on the gateway itself, or a grain that may live on the other silo.
                var call = c % 2 == 0 ? info.GetClusterUuid() : ModelIdAsync(client.GetGrain<ITrainedModelGrain>(model));
                var started = Stopwatch.GetTimestamp();
                try
                {
                    var answer = await call.WaitAsync(CallBound);
                    outcomes.Add(answer == uuid || answer == model ? "ok" : $"wrong answer {answer}");
                }
                catch (System.TimeoutException) when (Stopwatch.GetElapsedTime(started) >= CallBound)
                {
                    outcomes.Add($"hung for {Stopwatch.GetElapsedTime(started).TotalSeconds:0.0} s");
                    return;
                }
                catch (Exception e) when (e is SiloUnavailableException or OrleansMessageRejectionException
                                              || (e is System.TimeoutException && Stopwatch.GetElapsedTime(started) < CallBound))
                {
                    outcomes.Add("unavailable");
                }
                catch (Exception e)
                {
                    outcomes.Add(e.ToString());
                }
            }
        })).ToArray();
        await Task.Delay(300);
        await cluster.KillAsync(0);
        await Task.Delay(300);
        await stop.CancelAsync();
        await Task.WhenAll(callers).WaitAsync(CallBound + TimeSpan.FromSeconds(5));
        var summary = outcomes.GroupBy(o => o).ToDictionary(g => g.Key, g => g.Count());
        cluster.Log($"calls around the kill: {string.Join(", ", summary.Select(s => $"{s.Key} × {s.Value}"))}");
        Assert.All(outcomes, o => Assert.True(o is "ok" or "unavailable", o));

        // Later calls go through silo 1.
        var watch = Stopwatch.StartNew();
        Assert.Equal(uuid, await info.GetClusterUuid().WaitAsync(CallBound));
        cluster.Log($"first call after the kill answered in {watch.ElapsedMilliseconds} ms");
        for (var i = 0; i < 20; i++) Assert.Equal(uuid, await info.GetClusterUuid().WaitAsync(CallBound));

        // A grain that lived on silo 0 comes back on silo 1 once silo 0 is declared dead.
        await cluster.WaitUntilDeclaredDeadAsync(0, cluster.Options.DeathDetection + TimeSpan.FromSeconds(5));
        Assert.Equal(model, (await client.GetGrain<ITrainedModelGrain>(model).GetConfig().WaitAsync(CallBound))!.ModelId);
    }

    private static async Task<string> ModelIdAsync(ITrainedModelGrain model) => (await model.GetConfig())!.ModelId;
}
