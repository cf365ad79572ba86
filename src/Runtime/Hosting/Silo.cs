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
using TrainedModelsOrleans.Runtime.Proxies;
using TrainedModelsOrleans.Runtime.Statistics;

namespace TrainedModelsOrleans.Runtime.Hosting;

/// <summary>
/// One silo: the catalog of local activations, stateless worker pools, the directory and membership
/// rows, and the background loops (deadlines, idle collection, heartbeat). Also the co-hosted client.
/// </summary>
public sealed class Silo : IClusterClient, IAsyncDisposable
{
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
    private SiloIdentity? _identity;
    private int _state; // 0 created, 1 started, 2 stopped

    public Silo(NpgsqlDataSource dataSource, GrainStorage storage, IServiceProvider services, GrainRuntimeOptions options,
        SiloOptions siloOptions, IEnumerable<Assembly> grainAssemblies, ILogger<Silo> logger)
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
        _runtime = new LocalRuntime(this, new GrainActivator(services, storage));
    }

    public GrainRuntimeOptions Options { get; }

    public SiloIdentity Identity => _identity ?? throw new InvalidOperationException("The silo has not started.");

    public int ActivationCount => _activations.Count + _workerPools.Values.Sum(p => p.Count);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0) throw new InvalidOperationException("The silo was already started.");
        _identity = await _membership.JoinAsync(cancellationToken);
        _runtime.Directory = new PostgresGrainDirectory(_dataSource, _identity, _log);
        _loops.Add(RunLoopAsync("deadlines", TimeSpan.FromMilliseconds(100), ExpireRequests));
        _loops.Add(RunLoopAsync("collection", Options.CollectionQuantum, CollectIdle));
        _loops.Add(RunLoopAsync("heartbeat", _siloOptions.HeartbeatPeriod, Heartbeat));
    }

    /// <summary>Graceful leave: deactivates every activation, drops its directory entries, marks itself dead.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _state) != 1) return;
        foreach (var participant in _services.GetServices<ISiloShutdownParticipant>())
        {
            try { await participant.OnSiloStoppingAsync(cancellationToken); }
            catch (Exception e) { _log.BackgroundFailed("shutdown participant", e); }
        }
        if (Interlocked.Exchange(ref _state, 2) != 1) return;
        await _membership.SetStatusAsync(Identity, SiloStatus.ShuttingDown, CancellationToken.None);
        var all = _activations.Values.Concat(_workerPools.Values.SelectMany(p => p.Workers)).ToArray();
        foreach (var activation in all) activation.DeactivateOnIdle(DeactivationReason.ShuttingDown);
        await Task.WhenAll(all.Select(a => a.Deactivated)).WaitAsync(Options.DeactivationTimeout, cancellationToken)
            .ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        await _stopping.CancelAsync();
        await Task.WhenAll(_loops);
        // Leaving must finish even when the host's shutdown budget is spent: these are two short statements.
        try
        {
            await _runtime.Directory.UnregisterSiloAsync(CancellationToken.None);
            await _membership.SetStatusAsync(Identity, SiloStatus.Dead, CancellationToken.None);
        }
        catch (Exception e)
        {
            _log.BackgroundFailed("leave", e);
        }
        _log.SiloLeft(Identity.Name, Identity.Generation, all.Length);
    }

    public async ValueTask DisposeAsync()
    {
        if (Volatile.Read(ref _state) == 1)
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

    public Task<IReadOnlyList<SiloEntry>> ReadMembershipAsync(CancellationToken cancellationToken = default) =>
        _membership.ReadAllAsync(cancellationToken);

    /// <summary>Counters per grain type and method, and activations per grain type.</summary>
    public RuntimeStatisticsSnapshot GetStatistics() => new(
        _manifest.Classes.SelectMany(c => c.Methods.Values).Select(m => m.Statistics.Snapshot())
            .OrderBy(s => s.GrainType, StringComparer.Ordinal).ThenBy(s => s.Method, StringComparer.Ordinal).ToArray(),
        _manifest.Classes.ToDictionary(c => c.TypeName, c => c.Statistics.Activations),
        DateTimeOffset.UtcNow);

    private void Send(GrainId target, GrainClassInfo grainClass, GrainRequest request)
    {
        if (Volatile.Read(ref _state) != 1)
        {
            request.TryFail(new InvalidOperationException(_state == 0 ? "The silo has not started." : "The silo is stopped."));
            return;
        }
        if (grainClass.StatelessWorkerMax is int maxWorkers)
        {
            var pool = _workerPools.GetOrAdd(target, static (id, s) => new StatelessWorkerPool(id, s.grainClass, s.runtime, s.maxWorkers),
                (grainClass, runtime: (ISiloRuntime)_runtime, maxWorkers));
            pool.Choose().Enqueue(request);
            return;
        }
        if (!_activations.TryGetValue(target, out var activation))
        {
            var created = new ActivationData(target, grainClass, _runtime, registerInDirectory: true);
            activation = _activations.GetOrAdd(target, created);
            if (ReferenceEquals(activation, created)) created.Activate();
        }
        activation.Enqueue(request);
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

    private Task Heartbeat() => _membership.HeartbeatAsync(Identity, _stopping.Token);

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
        public void Redispatch(GrainId target, GrainClassInfo grainClass, GrainRequest request) => silo.Send(target, grainClass, request);
        public void ActivationRemoved(ActivationData activation) => silo.Removed(activation);
    }
}
