using System.Diagnostics;
using TrainedModelsOrleans.Runtime.GrainDirectory;
using TrainedModelsOrleans.Runtime.Proxies;

namespace TrainedModelsOrleans.Runtime.Catalog;

internal enum ActivationState { Created, Activating, Active, Deactivating, Invalid }

/// <summary>
/// One activation: the grain instance, its mailbox and its lifecycle. Requests run as turns on the
/// activation's scheduler; a non-reentrant grain starts the next request only when the previous completed.
/// </summary>
internal sealed class ActivationData
{
    private readonly object _lock = new();
    private readonly Queue<GrainRequest> _pending = new();
    private readonly List<GrainRequest> _forwardAfterDeactivation = new();
    private readonly HashSet<GrainRequest> _inFlight = new(ReferenceEqualityComparer.Instance);
    private readonly TaskCompletionSource _deactivated = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _running;
    private bool _deactivateWhenIdle;
    private DeactivationReason _deactivationReason;
    private long _lastActivityTimestamp = Stopwatch.GetTimestamp();

    public ActivationData(GrainId id, GrainClassInfo grainClass, ISiloRuntime runtime, bool registerInDirectory)
    {
        Id = id;
        GrainClass = grainClass;
        Runtime = runtime;
        RegisterInDirectory = registerInDirectory;
    }

    public GrainId Id { get; }
    public string Key => Id.Key;
    public Guid ActivationId { get; } = Guid.NewGuid();
    public GrainClassInfo GrainClass { get; }
    public ISiloRuntime Runtime { get; }
    public bool RegisterInDirectory { get; }
    public ActivationTaskScheduler Scheduler { get; } = new();
    public ActivationState State { get; private set; } = ActivationState.Created;
    public Grain? Instance { get; private set; }
    public Task Deactivated => _deactivated.Task;

    /// <summary>
    /// Requests queued or running; stateless worker pools pick the least loaded worker by it. Read without
    /// the lock (it is a hint, read on every call to a pool): both counts change only under the lock.
    /// </summary>
    public int Load => Volatile.Read(ref _running) + _pending.Count;

    public bool IsIdle(long now, long idleTicks)
    {
        lock (_lock)
            return State == ActivationState.Active && _running == 0 && _pending.Count == 0
                   && now - _lastActivityTimestamp >= idleTicks;
    }

    /// <summary>Queues a request. Requests that reach a deactivating activation are sent on after it is gone.</summary>
    public void Enqueue(GrainRequest request)
    {
        lock (_lock)
        {
            switch (State)
            {
                case ActivationState.Deactivating:
                    _forwardAfterDeactivation.Add(request);
                    return;
                case ActivationState.Invalid:
                    break;
                default:
                    _pending.Enqueue(request);
                    if (State == ActivationState.Active) StartRequestsLocked();
                    return;
            }
        }
        Runtime.Redispatch(Id, GrainClass, request);
    }

    /// <summary>First turn: directory, state, OnActivateAsync; then the queued requests run.</summary>
    public void Activate()
    {
        lock (_lock)
        {
            if (State != ActivationState.Created) return;
            State = ActivationState.Activating;
        }
        StartOnScheduler(static self => self.ActivateAsync(), this);
    }

    private async Task ActivateAsync()
    {
        var registered = false;
        try
        {
            using var timeout = new CancellationTokenSource(Runtime.Options.ActivationTimeout);
            if (RegisterInDirectory)
            {
                await Runtime.Directory.RegisterAsync(this, timeout.Token);
                registered = true;
            }
            var (instance, states) = Runtime.GrainActivator.Create(this);
            foreach (var state in states) await state.ReadStateAsync(timeout.Token);
            Instance = instance;
            await instance.OnActivateAsync(timeout.Token);
            GrainClass.Statistics.ActivationAdded();
            lock (_lock)
            {
                State = ActivationState.Active;
                _lastActivityTimestamp = Stopwatch.GetTimestamp();
                StartRequestsLocked();
            }
        }
        catch (Exception error)
        {
            // Leave the directory first: once this activation is invalid, the next call makes a new one, which must find the entry free.
            if (registered)
            {
                try { await Runtime.Directory.UnregisterAsync(this, CancellationToken.None).ConfigureAwait(false); }
                catch (Exception e) { Runtime.Log.DeactivationFailed(Id, e); }
            }
            GrainRequest[] failed;
            lock (_lock)
            {
                State = ActivationState.Invalid;
                failed = _pending.ToArray();
                _pending.Clear();
            }
            if (error is GrainActivatedElsewhereException elsewhere) Runtime.LocationLearned(Id, elsewhere.Silo, elsewhere.Generation);
            Runtime.ActivationRemoved(this);
            _deactivated.TrySetResult();
            if (error is GrainActivatedElsewhereException)
            {
                // Another silo won the directory race: its activation is the one, so the calls go there.
                foreach (var request in failed) Runtime.Redispatch(Id, GrainClass, request);
                return;
            }
            var reported = error is ActivationFailedException ? error : new ActivationFailedException(Id, error);
            foreach (var request in failed) request.TryFail(reported);
        }
    }

    private void StartRequestsLocked()
    {
        if (GrainClass.IsReentrant)
        {
            while (_pending.TryDequeue(out var request)) StartRequestLocked(request);
        }
        else if (_running == 0 && _pending.TryDequeue(out var request))
        {
            StartRequestLocked(request);
        }
    }

    private void StartRequestLocked(GrainRequest request)
    {
        _running++;
        _inFlight.Add(request);
        StartOnScheduler(static state => state.Item1.RunRequestAsync(state.Item2), (this, request));
    }

    private async Task RunRequestAsync(GrainRequest request)
    {
        if (request.IsCompleted || request.IsExpired(Stopwatch.GetTimestamp()))
        {
            request.TryFail(request.TimeoutError(Id)); // dropped: the caller already gave up
        }
        else
        {
            await request.ExecuteAsync(Instance!);
            if (request.Fault is InconsistentStateException) DeactivateOnIdle(DeactivationReason.InconsistentState);
        }
        bool deactivate;
        lock (_lock)
        {
            _running--;
            _inFlight.Remove(request);
            _lastActivityTimestamp = Stopwatch.GetTimestamp();
            deactivate = _deactivateWhenIdle && _running == 0 && State == ActivationState.Active;
            if (!deactivate) StartRequestsLocked();
        }
        if (deactivate) await DeactivateCoreAsync();
    }

    public void DeactivateOnIdle(DeactivationReason reason = DeactivationReason.ApplicationRequested)
    {
        bool now;
        lock (_lock)
        {
            if (State is ActivationState.Deactivating or ActivationState.Invalid) return;
            _deactivateWhenIdle = true;
            _deactivationReason = reason;
            now = State == ActivationState.Active && _running == 0;
        }
        if (now) StartOnScheduler(static self => self.DeactivateCoreAsync(), this);
    }

    /// <summary>Runs OnDeactivateAsync as a turn, leaves the directory, and sends on what arrived meanwhile.</summary>
    private async Task DeactivateCoreAsync()
    {
        GrainRequest[] queued;
        lock (_lock)
        {
            if (State != ActivationState.Active || _running != 0) return;
            State = ActivationState.Deactivating;
            queued = _pending.ToArray();
            _pending.Clear();
        }
        try
        {
            using var timeout = new CancellationTokenSource(Runtime.Options.DeactivationTimeout);
            await Instance!.OnDeactivateAsync(_deactivationReason, timeout.Token);
        }
        catch (Exception e)
        {
            Runtime.Log.DeactivationFailed(Id, e);
        }
        try
        {
            if (RegisterInDirectory) await Runtime.Directory.UnregisterAsync(this, CancellationToken.None);
        }
        catch (Exception e)
        {
            Runtime.Log.DeactivationFailed(Id, e);
        }
        GrainRequest[] forward;
        lock (_lock)
        {
            State = ActivationState.Invalid;
            forward = [.. queued, .. _forwardAfterDeactivation];
            _forwardAfterDeactivation.Clear();
        }
        GrainClass.Statistics.ActivationRemoved();
        Runtime.ActivationRemoved(this);
        _deactivated.TrySetResult();
        foreach (var request in forward) Runtime.Redispatch(Id, GrainClass, request);
    }

    private void StartOnScheduler<T>(Func<T, Task> work, T state) =>
        Task.Factory.StartNew(() => work(state), CancellationToken.None, TaskCreationOptions.DenyChildAttach, Scheduler).Unwrap();

    /// <summary>
    /// Fencing: the silo may no longer serve, so every queued and running request fails at once and the
    /// activation is invalid. Turns already running finish in the background; nobody waits for them.
    /// </summary>
    public void Abort(Exception error)
    {
        GrainRequest[] failed;
        lock (_lock)
        {
            if (State == ActivationState.Invalid) return;
            State = ActivationState.Invalid;
            failed = [.. _pending, .. _inFlight, .. _forwardAfterDeactivation];
            _pending.Clear();
            _forwardAfterDeactivation.Clear();
        }
        foreach (var request in failed) request.TryFail(error);
        _deactivated.TrySetResult();
    }

    /// <summary>Callers of queued or running requests whose deadline passed get a TimeoutException; queued ones are dropped on start.</summary>
    public void ExpireRequests(long now)
    {
        if (Volatile.Read(ref _running) == 0 && _pending.Count == 0) return; // racy pre-check; the next scan catches up
        lock (_lock)
        {
            foreach (var request in _pending)
                if (request.IsExpired(now)) request.TryFail(request.TimeoutError(Id));
            foreach (var request in _inFlight)
                if (request.IsExpired(now)) request.TryFail(request.TimeoutError(Id));
        }
    }
}

/// <summary>The grain could not be activated (directory, state load or OnActivateAsync failed).</summary>
public sealed class ActivationFailedException : Exception
{
    public ActivationFailedException(GrainId grain, Exception inner) : base($"Activation of {grain} failed: {inner.Message}", inner) { }

    /// <summary>As it arrives from another silo: the message only.</summary>
    public ActivationFailedException(string message) : base(message) { }
}
