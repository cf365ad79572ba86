using System.Collections.Concurrent;
using TrainedModelsOrleans.Runtime;

namespace TrainedModelsOrleans.Runtime.Tests;

public sealed class CounterState
{
    public int Value { get; set; }
}

public interface ICounterGrain : IGrainWithStringKey
{
    Task<int> Increment();
    Task<int> Get();
    Task<Guid> ActivationId();
    Task Deactivate();
}

/// <summary>Records what the runtime did to it, per key, for the tests to check.</summary>
public static class Probe
{
    public static readonly ConcurrentDictionary<string, int> Activations = new();
    public static readonly ConcurrentDictionary<string, int> Deactivations = new();
    public static readonly ConcurrentDictionary<string, DeactivationReason> LastReason = new();
}

public sealed class CounterGrain([PersistentState("counter")] IPersistentState<CounterState> counter) : Grain, ICounterGrain
{
    private readonly Guid _activation = Guid.NewGuid();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        Probe.Activations.AddOrUpdate(GetPrimaryKeyString(), 1, (_, n) => n + 1);
        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        Probe.Deactivations.AddOrUpdate(GetPrimaryKeyString(), 1, (_, n) => n + 1);
        Probe.LastReason[GetPrimaryKeyString()] = reason;
        return Task.CompletedTask;
    }

    public async Task<int> Increment()
    {
        counter.State.Value++;
        await counter.WriteStateAsync();
        return counter.State.Value;
    }

    public Task<int> Get() => Task.FromResult(counter.State.Value);
    public Task<Guid> ActivationId() => Task.FromResult(_activation);

    public Task Deactivate()
    {
        DeactivateOnIdle();
        return Task.CompletedTask;
    }
}

public interface ITurnGrain : IGrainWithStringKey
{
    Task Append(int value, int delayMs);
    Task<int[]> Values();
    Task<int> MaxConcurrency();
    Task<int> MaxInterleaving();
}

/// <summary>Counts how many turns ever ran at once (must be 1) and how many requests interleaved.</summary>
public abstract class TurnRecorder : Grain
{
    private readonly List<int> _values = new();
    private int _insideTurn;
    private int _maxConcurrency;
    private int _inRequest;
    private int _maxInterleaving;

    public async Task Append(int value, int delayMs)
    {
        _inRequest++;
        _maxInterleaving = Math.Max(_maxInterleaving, _inRequest);
        Enter();
        _values.Add(value);
        Thread.SpinWait(200);
        Exit();
        await Task.Delay(delayMs);
        Enter();
        Thread.SpinWait(200);
        Exit();
        _inRequest--;
    }

    private void Enter()
    {
        var now = Interlocked.Increment(ref _insideTurn);
        InterlockedMax(ref _maxConcurrency, now);
    }

    private void Exit() => Interlocked.Decrement(ref _insideTurn);

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen) { }
    }

    public Task<int[]> Values() => Task.FromResult(_values.ToArray());
    public Task<int> MaxConcurrency() => Task.FromResult(_maxConcurrency);
    public Task<int> MaxInterleaving() => Task.FromResult(_maxInterleaving);
}

public sealed class TurnGrain : TurnRecorder, ITurnGrain;

public interface IReentrantTurnGrain : ITurnGrain;

[Reentrant]
public sealed class ReentrantTurnGrain : TurnRecorder, IReentrantTurnGrain;

public sealed class GrainFaultException(string message, int code) : Exception(message)
{
    public int Code { get; } = code;
}

public interface IBehaviourGrain : IGrainWithStringKey
{
    Task Fail(string message);
    Task<string> Echo(string text);
    ValueTask<int> AddAsync(int a, int b);
    ValueTask Nothing();
    Task Sleep(int ms);

    [ResponseTimeout("00:00:05")]
    Task SleepPatiently(int ms);
}

public sealed class BehaviourGrain : Grain, IBehaviourGrain
{
    public Task Fail(string message) => throw new GrainFaultException(message, 42);
    public Task<string> Echo(string text) => Task.FromResult(text);
    public ValueTask<int> AddAsync(int a, int b) => ValueTask.FromResult(a + b);
    public ValueTask Nothing() => ValueTask.CompletedTask;
    public Task Sleep(int ms) => Task.Delay(ms);
    public Task SleepPatiently(int ms) => Task.Delay(ms);
}

public interface IBrokenGrain : IGrainWithStringKey
{
    Task Ping();
}

public sealed class BrokenGrain : Grain, IBrokenGrain
{
    public override Task OnActivateAsync(CancellationToken cancellationToken) =>
        throw new InvalidOperationException("cannot start: " + GetPrimaryKeyString());

    public Task Ping() => Task.CompletedTask;
}

public interface IWorkerGrain : IGrainWithStringKey
{
    Task<Guid> Work(int delayMs);
}

[StatelessWorker(3)]
public sealed class WorkerGrain : Grain, IWorkerGrain
{
    private static int s_concurrent;
    private static int s_maxConcurrent;
    private readonly Guid _id = Guid.NewGuid();

    public static int MaxConcurrent => Volatile.Read(ref s_maxConcurrent);

    public async Task<Guid> Work(int delayMs)
    {
        var now = Interlocked.Increment(ref s_concurrent);
        int seen;
        while ((seen = Volatile.Read(ref s_maxConcurrent)) < now && Interlocked.CompareExchange(ref s_maxConcurrent, now, seen) != seen) { }
        await Task.Delay(delayMs);
        Interlocked.Decrement(ref s_concurrent);
        return _id;
    }
}

public interface ICallerGrain : IGrainWithStringKey
{
    Task<int> IncrementThrough(string counterKey);
}

public sealed class CallerGrain : Grain, ICallerGrain
{
    public Task<int> IncrementThrough(string counterKey) => GrainFactory.GetGrain<ICounterGrain>(counterKey).Increment();
}
