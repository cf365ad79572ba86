using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using TrainedModelsOrleans.Runtime.Catalog;
using TrainedModelsOrleans.Runtime.Configuration;
using TrainedModelsOrleans.Runtime.GrainDirectory;
using TrainedModelsOrleans.Runtime.MembershipService;
using TrainedModelsOrleans.Runtime.Persistence;
using TrainedModelsOrleans.Runtime.Cluster;
using TrainedModelsOrleans.Runtime.Proxies;
using TrainedModelsOrleans.Runtime.Serialization;
using TrainedModelsOrleans.Runtime.Statistics;

namespace TrainedModelsOrleans.Runtime.Hosting;

/// <summary>
/// One silo: the catalog of local activations, stateless worker pools, the directory and membership
/// rows, and the background loops (deadlines, idle collection, heartbeat). Also the co-hosted client.
/// </summary>
public sealed class Silo : IClusterClient, IClusterMembership, IAsyncDisposable
{
    private const int StateCreated = 0, StateStarted = 1, StateStopped = 2, StateFenced = 3;

    private readonly ConcurrentDictionary<GrainId, ActivationData> _activations = new();
    private readonly ConcurrentDictionary<GrainId, StatelessWorkerPool> _workerPools = new();
    private readonly GrainManifest _manifest;
    private readonly SiloMembership _membership;
    private readonly NpgsqlDataSource _dataSource;
    private readonly SiloOptions _siloOptions;
    private readonly RuntimeLog _log;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _loops = new();
    private readonly LocalRuntime _runtime;
    private readonly IServiceProvider _services;
    private readonly ILogger<Silo> _logger;
    private readonly ConcurrentDictionary<GrainId, (string Silo, long Generation)> _locations = new();
    private SiloIdentity? _identity;
    private RemoteGrainCalls? _remote;
    private MembershipView _view = MembershipView.Empty;
    private long _lastHeartbeat = Stopwatch.GetTimestamp();
    private readonly object _refreshLock = new();
    private Task? _refreshing;
    private long _beats;
    private const int PruneEveryBeats = 600;
    private static readonly TimeSpan DefunctRetention = TimeSpan.FromDays(7);
    private int _state; // 0 created, 1 started, 2 stopped, 3 fenced

    public Silo(NpgsqlDataSource dataSource, GrainStorage storage, IServiceProvider services, GrainRuntimeOptions options,
        SiloOptions siloOptions, IEnumerable<Assembly> grainAssemblies, ILogger<Silo> logger, WireSerializer? wire = null)
    {
        options.Validate();
        siloOptions.Validate();
        _dataSource = dataSource;
        _siloOptions = siloOptions;
        _log = new RuntimeLog(logger);
        _manifest = new GrainManifest(grainAssemblies, options.ResponseTimeout);
        _membership = new SiloMembership(dataSource, siloOptions, _log);
        Options = options;
        _services = services;
        _logger = logger;
        Wire = wire ?? new WireSerializer();
        _runtime = new LocalRuntime(this, new GrainActivator(services, storage));
    }

    /// <summary>How arguments, results and exceptions travel between processes.</summary>
    public WireSerializer Wire { get; }

    /// <summary>Raised once when the silo fences itself (declared dead, or cut off from the database).</summary>
    public event Action<string>? Fenced;

    public event Action<MembershipView>? Changed;

    /// <summary>The membership as of the last heartbeat.</summary>
    public MembershipView Current => Volatile.Read(ref _view);

    public bool IsFenced => Volatile.Read(ref _state) == StateFenced;

    /// <summary>Where the silo transport listens (the address in the membership table).</summary>
    public string Address => _remote?.Address ?? throw new InvalidOperationException("The silo has not started.");

    public GrainRuntimeOptions Options { get; }

    public SiloIdentity Identity => _identity ?? throw new InvalidOperationException("The silo has not started.");

    public int ActivationCount => _activations.Count + _workerPools.Values.Sum(p => p.Count);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.CompareExchange(ref _state, StateStarted, StateCreated) != StateCreated)
            throw new InvalidOperationException("The silo was already started.");
        _identity = await _membership.JoinAsync(cancellationToken);
        _runtime.Directory = new PostgresGrainDirectory(_dataSource, _identity, _log);
        // Joining, then listening, then active: peers only call an address that answers.
        _remote = RemoteGrainCalls.Start(this, _identity, _siloOptions.Address, _logger);
        var address = _remote.Address;
        if (!await _membership.SetActiveAsync(_identity, address, _siloOptions.GatewayAddress ?? address, cancellationToken))
            throw new InvalidOperationException($"Silo {_identity} was declared dead while joining.");
        _lastHeartbeat = Stopwatch.GetTimestamp();
        await RefreshViewAsync(cancellationToken);
        _loops.Add(RunLoopAsync("deadlines", TimeSpan.FromMilliseconds(100), ExpireRequests));
        _loops.Add(RunLoopAsync("collection", Options.CollectionQuantum, CollectIdle));
        _loops.Add(RunLoopAsync("heartbeat", _siloOptions.HeartbeatPeriod, Heartbeat));
        _loops.Add(RunLoopAsync("fencing", TimeSpan.FromMilliseconds(100), CheckCutOff));
    }

    /// <summary>Graceful leave: deactivates every activation, drops its directory entries, marks itself dead.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _state) == StateFenced)
        {
            await StopFencedAsync();
            return;
        }
        if (Volatile.Read(ref _state) != StateStarted) return;
        foreach (var participant in _services.GetServices<ISiloShutdownParticipant>())
        {
            try { await participant.OnSiloStoppingAsync(cancellationToken); }
            catch (Exception e) { _log.BackgroundFailed("shutdown participant", e); }
        }
        if (Interlocked.CompareExchange(ref _state, StateStopped, StateStarted) != StateStarted)
        {
            if (IsFenced) await StopFencedAsync();
            return;
        }
        await _membership.SetStatusAsync(Identity, SiloStatus.ShuttingDown, CancellationToken.None);
        var all = _activations.Values.Concat(_workerPools.Values.SelectMany(p => p.Workers)).ToArray();
        foreach (var activation in all) activation.DeactivateOnIdle(DeactivationReason.ShuttingDown);
        await Task.WhenAll(all.Select(a => a.Deactivated)).WaitAsync(Options.DeactivationTimeout, cancellationToken)
            .ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        await _stopping.CancelAsync();
        await Task.WhenAll(_loops);
        if (_remote is not null) await _remote.DisposeAsync();
        // Leaving must finish even when the host's shutdown budget is spent: these are two short statements.
        try
        {
            await _runtime.Directory.UnregisterSiloAsync(Identity.Name, Identity.Generation, CancellationToken.None);
            await _membership.SetStatusAsync(Identity, SiloStatus.Dead, CancellationToken.None);
        }
        catch (Exception e)
        {
            _log.BackgroundFailed("leave", e);
        }
        _log.SiloLeft(Identity.Name, Identity.Generation, all.Length);
    }

    /// <summary>
    /// Stops serving at once: a peer declared this silo dead (or it cannot prove it is alive), so another
    /// silo may already host its grains. Callers get an error; nothing more is written for this generation.
    /// </summary>
    public void Fence(string reason)
    {
        if (Interlocked.CompareExchange(ref _state, StateFenced, StateStarted) != StateStarted) return;
        _log.SiloFenced(_identity?.Name ?? "?", _identity?.Generation ?? 0, reason);
        AbortActivations(new SiloUnavailableException($"Silo {_identity} stopped serving: {reason}"));
        _stopping.Cancel();
        _ = _remote?.DisposeAsync().AsTask();
        try { Fenced?.Invoke(reason); }
        catch (Exception e) { _log.BackgroundFailed("fenced handler", e); }
    }

    /// <summary>
    /// For test harnesses: stops as if the process had been killed — no more heartbeats, the transport
    /// closes, nothing is written to the database. Peers find out only by the death timeout.
    /// </summary>
    public async Task KillAsync()
    {
        if (Interlocked.CompareExchange(ref _state, StateFenced, StateStarted) != StateStarted) return;
        AbortActivations(new SiloUnavailableException($"Silo {_identity} was killed."));
        await _stopping.CancelAsync();
        await StopFencedAsync();
    }

    private void AbortActivations(Exception error)
    {
        foreach (var activation in _activations.Values) activation.Abort(error);
        foreach (var pool in _workerPools.Values)
        foreach (var worker in pool.Workers) worker.Abort(error);
        _activations.Clear();
        _workerPools.Clear();
    }

    private async Task StopFencedAsync()
    {
        await Task.WhenAll(_loops);
        if (_remote is not null) await _remote.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (Volatile.Read(ref _state) is StateStarted or StateFenced)
        {
            try { await StopAsync(CancellationToken.None); }
            catch (Exception e) { _log.BackgroundFailed("stop", e); }
        }
        _stopping.Dispose();
    }

    public TGrainInterface GetGrain<TGrainInterface>(string primaryKey) where TGrainInterface : IGrainWithStringKey
    {
        ArgumentNullException.ThrowIfNull(primaryKey);
        return GrainProxy.Create<TGrainInterface>(_runtime, _manifest.ForInterface(typeof(TGrainInterface)), primaryKey);
    }

    public TGrainInterface GetStatelessWorker<TGrainInterface>(string primaryKey, string silo) where TGrainInterface : IGrainWithStringKey
    {
        ArgumentNullException.ThrowIfNull(primaryKey);
        ArgumentException.ThrowIfNullOrEmpty(silo);
        var grainClass = _manifest.ForInterface(typeof(TGrainInterface));
        if (grainClass.StatelessWorkerMax is null)
            throw new InvalidOperationException($"{typeof(TGrainInterface)} is not a stateless worker; only those are routed to a chosen silo.");
        return GrainProxy.Create<TGrainInterface>(_runtime, grainClass, primaryKey, silo);
    }

    internal GrainManifest Manifest => _manifest;

    internal const int MaxForwards = 5;

    /// <summary>Started and neither stopping nor fenced: calls from peers are run here.</summary>
    internal bool IsServing => Volatile.Read(ref _state) == StateStarted;

    internal void Redispatch(GrainId target, GrainClassInfo grainClass, GrainRequest request) =>
        _runtime.Redispatch(target, grainClass, request);

    public Task<IReadOnlyList<SiloEntry>> ReadMembershipAsync(CancellationToken cancellationToken = default) =>
        _membership.ReadAllAsync(cancellationToken);

    /// <summary>Counters per grain type and method, and activations per grain type.</summary>
    public RuntimeStatisticsSnapshot GetStatistics() => new(
        _manifest.Classes.SelectMany(c => c.Methods.Values).Select(m => m.Statistics.Snapshot())
            .OrderBy(s => s.GrainType, StringComparer.Ordinal).ThenBy(s => s.Method, StringComparer.Ordinal).ToArray(),
        _manifest.Classes.ToDictionary(c => c.TypeName, c => c.Statistics.Activations),
        DateTimeOffset.UtcNow);

    /// <summary>
    /// Routes a call: a pinned or silo-keyed call to its silo; a stateless worker to the local pool; a grain
    /// to its local activation, to the silo the directory named, or to a new local activation (placement
    /// on the calling silo), which claims the directory entry or learns where the grain already lives.
    /// </summary>
    internal void Send(GrainId target, GrainClassInfo grainClass, GrainRequest request)
    {
        var state = Volatile.Read(ref _state);
        if (state != StateStarted)
        {
            request.TryFail(state switch
            {
                StateCreated => new InvalidOperationException("The silo has not started."),
                StateFenced => new SiloUnavailableException($"Silo {_identity} has fenced itself and serves no calls; {target}.{request.Method.Name} was not run."),
                _ => new SiloUnavailableException($"Silo {_identity} is stopped; {target}.{request.Method.Name} was not run."),
            });
            return;
        }
        if (request.OnSilo is not null && grainClass.StatelessWorkerMax is null)
        {
            // Only stateless workers may be pinned: anything else would bypass the directory and run twice.
            request.TryFail(new InvalidOperationException($"{target} is not a stateless worker; it cannot be pinned to silo {request.OnSilo}."));
            return;
        }
        var pinnedSilo = request.OnSilo ?? (grainClass.PlacedOnSiloNamedByKey ? target.Key : null);
        if (pinnedSilo is not null && pinnedSilo != _identity!.Name)
        {
            if (Current.TryGetAlive(pinnedSilo, out var entry)) _remote!.Send(entry, target, grainClass, request);
            else request.TryFail(new SiloUnavailableException($"Silo {pinnedSilo} is not alive; {target}.{request.Method.Name} was not sent."));
            return;
        }
        if (grainClass.StatelessWorkerMax is int maxWorkers)
        {
            var pool = _workerPools.GetOrAdd(target, static (id, s) => new StatelessWorkerPool(id, s.grainClass, s.runtime, s.maxWorkers),
                (grainClass, runtime: (ISiloRuntime)_runtime, maxWorkers));
            pool.Choose().Enqueue(request);
            return;
        }
        if (_activations.TryGetValue(target, out var activation) && activation.State == ActivationState.Invalid)
        {
            // Gone (deactivated or failed) but not yet out of the catalog: the call goes to a new activation.
            _activations.TryRemove(new KeyValuePair<GrainId, ActivationData>(target, activation));
            activation = null;
        }
        if (activation is null)
        {
            if (_locations.TryGetValue(target, out var location))
            {
                if (Current.TryGetAlive(location.Silo, out var owner) && owner.Generation == location.Generation)
                {
                    _remote!.Send(owner, target, grainClass, request);
                    return;
                }
                // The view may lag the directory by a heartbeat: a silo it does not know yet is looked up first.
                if (!IsKnownDead(location.Silo, location.Generation))
                {
                    _remote!.SendAfterRefresh(location.Silo, location.Generation, target, grainClass, request);
                    return;
                }
                _locations.TryRemove(new KeyValuePair<GrainId, (string, long)>(target, location));
            }
            var created = new ActivationData(target, grainClass, _runtime, registerInDirectory: !grainClass.PlacedOnSiloNamedByKey);
            activation = _activations.GetOrAdd(target, created);
            if (ReferenceEquals(activation, created)) created.Activate();
        }
        activation.Enqueue(request);
    }

    private bool IsKnownDead(string silo, long generation) =>
        Current.Entries.Any(e => e.SiloId == silo && e.Generation == generation && !SiloStatus.IsAlive(e.Status))
        || (Current.TryGetAlive(silo, out var newer) && newer.Generation > generation);

    internal void ForgetLocation(GrainId grain, string silo, long generation) =>
        _locations.TryRemove(new KeyValuePair<GrainId, (string, long)>(grain, (silo, generation)));

    /// <summary>
    /// Re-reads the membership. One read at a time (concurrent callers share it), so a slower, older read
    /// never overwrites a newer view; callers on a request path bound their wait by the request's deadline.
    /// </summary>
    internal Task RefreshViewAsync(CancellationToken cancellationToken)
    {
        lock (_refreshLock)
        {
            if (_refreshing is null || _refreshing.IsCompleted) _refreshing = RefreshViewCoreAsync();
            return _refreshing.WaitAsync(cancellationToken);
        }
    }

    private async Task RefreshViewCoreAsync()
    {
        using var timeout = new CancellationTokenSource(_siloOptions.DeathTimeout / 2);
        var entries = await _membership.ReadAllAsync(timeout.Token);
        var previous = Current;
        var next = new MembershipView(entries);
        Volatile.Write(ref _view, next);
        if (next.Signature() == previous.Signature()) return;
        foreach (var (grain, location) in _locations)
            if (!next.IsAlive(location.Silo, location.Generation)) ForgetLocation(grain, location.Silo, location.Generation);
        foreach (var gone in previous.Alive.Where(e => !next.IsAlive(e.SiloId, e.Generation))) _remote?.Forget(gone.Address);
        _log.MembershipChanged(next.Alive.Count(), next.Signature());
        try { Changed?.Invoke(next); }
        catch (Exception e) { _log.BackgroundFailed("membership listener", e); }
    }

    private void Removed(ActivationData activation)
    {
        if (activation.GrainClass.StatelessWorkerMax is not null)
        {
            if (_workerPools.TryGetValue(activation.Id, out var pool)) pool.Remove(activation);
            return;
        }
        _activations.TryRemove(new KeyValuePair<GrainId, ActivationData>(activation.Id, activation));
    }

    private Task ExpireRequests()
    {
        var now = Stopwatch.GetTimestamp();
        foreach (var activation in _activations.Values) activation.ExpireRequests(now);
        foreach (var pool in _workerPools.Values)
        foreach (var worker in pool.Workers) worker.ExpireRequests(now);
        return Task.CompletedTask;
    }

    private Task CollectIdle()
    {
        var now = Stopwatch.GetTimestamp();
        var collected = 0;
        foreach (var activation in _activations.Values.Concat(_workerPools.Values.SelectMany(p => p.Workers)))
        {
            var age = Options.ClassSpecificCollectionAge.TryGetValue(activation.GrainClass.TypeName, out var specific)
                ? specific
                : Options.CollectionAge;
            if (!activation.IsIdle(now, (long)(age.TotalSeconds * Stopwatch.Frequency))) continue;
            activation.DeactivateOnIdle(DeactivationReason.IdleCollection);
            collected++;
        }
        if (collected > 0) _log.Collected(collected);
        return Task.CompletedTask;
    }

    /// <summary>Proves this silo alive, declares silent peers dead, and re-reads the membership.</summary>
    private async Task Heartbeat()
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        timeout.CancelAfter(_siloOptions.DeathTimeout / 2);
        // Taken before the update: the database stamps its now() no earlier, so the local clock never runs ahead of it.
        var sent = Stopwatch.GetTimestamp();
        if (!await _membership.HeartbeatAsync(Identity, timeout.Token))
        {
            Fence("a peer declared it dead (its heartbeat was older than the death timeout)");
            return;
        }
        Volatile.Write(ref _lastHeartbeat, sent);
        if (++_beats % PruneEveryBeats == 0) await _membership.PruneDefunctAsync(DefunctRetention, timeout.Token);
        var declared = await _membership.DeclareStaleDeadAsync(Identity, _siloOptions.DeathTimeout, timeout.Token);
        // Their directory rows would be taken over one by one on next call; dropping them now is cheaper.
        foreach (var (silo, generation) in declared) await _runtime.Directory.UnregisterSiloAsync(silo, generation, timeout.Token);
        await RefreshViewAsync(timeout.Token);
    }

    /// <summary>
    /// A silo that could not write its heartbeat for nearly the death timeout is about to be declared dead: it
    /// stops first, two heartbeat periods early (at least half the timeout), so it never serves alongside the
    /// silo that takes its grains over.
    /// </summary>
    private Task CheckCutOff()
    {
        var silent = Stopwatch.GetElapsedTime(Volatile.Read(ref _lastHeartbeat));
        if (silent > _siloOptions.SelfFenceAfter)
            Fence($"it could not write its heartbeat for {silent.TotalSeconds:0.0} s (death timeout {_siloOptions.DeathTimeout.TotalSeconds:0.#} s)");
        return Task.CompletedTask;
    }



    private async Task RunLoopAsync(string name, TimeSpan period, Func<Task> body)
    {
        using var timer = new PeriodicTimer(period);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token))
            {
                try { await body(); }
                catch (OperationCanceledException) when (_stopping.IsCancellationRequested) { return; }
                catch (Exception e)
                {
                    if (name == "heartbeat") _log.HeartbeatFailed(Identity.Name, e);
                    else _log.BackgroundFailed(name, e);
                }
            }
        }
        catch (OperationCanceledException) { }
    }

    /// <summary>The silo as its activations and proxies see it.</summary>
    private sealed class LocalRuntime(Silo silo, GrainActivator activator) : ISiloRuntime, IGrainCallSink
    {
        public GrainRuntimeOptions Options => silo.Options;
        public IGrainDirectory Directory { get; set; } = null!;
        public GrainActivator GrainActivator => activator;
        public RuntimeLog Log => silo._log;
        public IGrainFactory GrainFactory => silo;
        public void Send(GrainId target, GrainClassInfo grainClass, GrainRequest request) => silo.Send(target, grainClass, request);
        public void Redispatch(GrainId target, GrainClassInfo grainClass, GrainRequest request)
        {
            if (++request.Forwards > MaxForwards)
                request.TryFail(new SiloUnavailableException($"{target}.{request.Method.Name} was forwarded {MaxForwards} times without finding its activation."));
            else silo.Send(target, grainClass, request);
        }
        public void ActivationRemoved(ActivationData activation) => silo.Removed(activation);
        public void LocationLearned(GrainId grain, string owner, long generation) => silo._locations[grain] = (owner, generation);
    }
}
