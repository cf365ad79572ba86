using System.Collections.Concurrent;
using System.Diagnostics;
using TrainedModelsOrleans.Grains.Serving;
using Orleans;

namespace TrainedModelsOrleans.Cluster.Tests;

/// <summary>
/// Callers that run SDK inference on one deployment back to back, each checked against the reference, until stopped;
/// every call's outcome is kept with the time it ended (on the given clock) and its error. Disposal stops it, and it
/// stops by itself after <see cref="MaxLifetime"/>, so a failed test leaves nothing running.
/// </summary>
internal sealed class InferenceLoad : IAsyncDisposable
{
    public static readonly TimeSpan MaxLifetime = TimeSpan.FromMinutes(2);

    /// <summary>No single call may take longer than this: a call that does is recorded as failed (hung).</summary>
    public static readonly TimeSpan CallBound = TimeSpan.FromSeconds(15);

    private readonly ConcurrentQueue<Outcome> _outcomes = new();
    private readonly CancellationTokenSource _stop = new(MaxLifetime);
    private readonly Task[] _callers;

    private InferenceLoad(IClusterClient client, string model, int callers, Stopwatch clock)
    {
        _callers = Enumerable.Range(0, callers).Select(c => Task.Run(async () =>
        {
            var rows = new[] { TinyModel.Row(c) };
            var inference = client.GetGrain<IInferenceGrain>($"load-{c}");
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    TinyModel.AssertTensorResults(await inference.InferTensors(model, TinyModel.Docs(rows)).WaitAsync(CallBound), rows);
                    _outcomes.Enqueue(new Outcome(clock.Elapsed, true, null));
                }
                catch (Exception e)
                {
                    _outcomes.Enqueue(new Outcome(clock.Elapsed, false, $"{e.GetType().Name}: {e.Message}"));
                    await Task.Delay(20); // a failing cluster is not hammered
                }
            }
        })).ToArray();
    }

    public sealed record Outcome(TimeSpan At, bool Ok, string? Error);

    public static InferenceLoad Start(IClusterClient client, string model, int callers, Stopwatch clock) => new(client, model, callers, clock);

    /// <summary>Every outcome so far, in the order the calls ended.</summary>
    public Outcome[] Outcomes => _outcomes.ToArray();

    public Outcome[] Failures => Outcomes.Where(o => !o.Ok).ToArray();

    public int Served(TimeSpan from, TimeSpan to) => Outcomes.Count(o => o.Ok && o.At > from && o.At < to);

    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_callers).WaitAsync(CallBound + TimeSpan.FromSeconds(5));
    }

    public async ValueTask DisposeAsync()
    {
        try { await StopAsync(); }
        finally { _stop.Dispose(); }
    }
}
