using System.Collections.Concurrent;
using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.ModelStore;
using TrainedModelsOrleans.Grains.Models;
using Orleans;
using Orleans.Concurrency;
using Orleans.Runtime;

namespace TrainedModelsOrleans.Grains.Serving;

/// <summary>
/// This silo's view of what inference can reach: assignments, aliases and model configs, refreshed at
/// most every <see cref="ServingOptions.TargetRefreshInterval"/> (or at once after a local change), so
/// a request resolves from memory. A request keeps the target it resolved, so an alias move never
/// breaks a request in flight.
/// </summary>
public sealed class InferenceTargets(IGrainFactory grains, ServingOptions options, TimeProvider clock)
{
    private readonly SemaphoreSlim _refresh = new(1, 1);
    private volatile Snapshot? _snapshot;
    private volatile bool _stale = true;
    // When the snapshot is due for a refresh, on the coarse monotonic clock (read on every request: it is the cheap one).
    private long _refreshAtMillis;

    /// <summary>Makes the next request read fresh state (called after changes committed on this silo).</summary>
    public void Invalidate() => _stale = true;

    /// <param name="notBefore">A snapshot taken before this time is not good enough (a miss re-reads once).</param>
    public async ValueTask<Snapshot> CurrentAsync(DateTimeOffset? notBefore = null)
    {
        var snapshot = _snapshot;
        if (IsUsable(snapshot, notBefore)) return snapshot!;
        // Another request is refreshing: serve from the last view meanwhile rather than queue behind it.
        var acquired = false;
        if (snapshot is not null && notBefore is null && !_stale)
        {
            if (!_refresh.Wait(0)) return snapshot;
            acquired = true;
        }
        if (!acquired) await _refresh.WaitAsync();
        try
        {
            snapshot = _snapshot;
            if (IsUsable(snapshot, notBefore)) return snapshot!;
            var takenAt = clock.GetUtcNow();
            var refreshFrom = Environment.TickCount64;
            _stale = false;
            Snapshot fresh;
            try
            {
                // With a view to fall back on, a request waits a bounded time for a new one (a lock held by a
                // transaction whose silo died, a silo not yet declared dead); the read goes on in the background.
                var reading = ReadAsync(snapshot, takenAt);
                fresh = snapshot is null ? await reading : await reading.WaitAsync(options.TargetRefreshTimeout);
            }
            catch (Exception e) when (snapshot is not null && e is SiloUnavailableException or TimeoutException or OrleansException
                                          or Errors.ElasticsearchException { Status: 503 or 429 })
            {
                // The coordinator's silo just died, or PostgreSQL is restarting: the routes seen a moment ago are
                // still the best guess (the router skips nodes it cannot reach); try again after the refresh interval.
                Publish(snapshot with { TakenAt = takenAt }, refreshFrom);
                return snapshot;
            }
            Publish(fresh, refreshFrom);
            return fresh;
        }
        finally
        {
            _refresh.Release();
        }
    }

    private async Task<Snapshot> ReadAsync(Snapshot? previous, DateTimeOffset takenAt)
    {
        var assignments = await grains.GetGrain<IAssignmentCoordinatorGrain>(AssignmentCoordinatorGrain.Key).GetAssignments();
        var aliases = (await grains.GetGrain<IMlIdsGrain>(IMlIdsGrain.Key).GetCommitted())
            .Where(i => i.Value.Kind == MlIdEntry.Alias).ToDictionary(i => i.Key, i => i.Value.ModelId, StringComparer.Ordinal);
        var wanted = assignments.Select(a => a.TaskParameters.ModelId).Concat(aliases.Values).Distinct().ToArray();
        // Only what is deployed or aliased now: the configs of models gone since are dropped, not carried on forever.
        var configs = new Dictionary<string, TrainedModelConfig>(StringComparer.Ordinal);
        foreach (var id in wanted)
            if (previous is not null && previous.Configs.TryGetValue(id, out var known)) configs[id] = known;
        var missing = await Task.WhenAll(wanted.Where(id => !configs.ContainsKey(id))
            .Select(async id => (Id: id, Config: await grains.GetGrain<ITrainedModelGrain>(id).GetConfig())));
        foreach (var (id, config) in missing)
            if (config is not null) configs[id] = config;
        return new Snapshot(assignments, aliases, configs, takenAt);
    }

    private void Publish(Snapshot snapshot, long refreshFrom)
    {
        Volatile.Write(ref _refreshAtMillis, refreshFrom + (long)options.TargetRefreshInterval.TotalMilliseconds);
        _snapshot = snapshot;
    }

    /// <summary>
    /// The snapshot if a request may use it without waiting: no refresh is due, or another request is
    /// refreshing it (the last view serves meanwhile, as in <see cref="CurrentAsync"/>); else null.
    /// </summary>
    public Snapshot? Fresh
    {
        get
        {
            var snapshot = _snapshot;
            return IsUsable(snapshot, null) || (snapshot is not null && !_stale && _refresh.CurrentCount == 0) ? snapshot : null;
        }
    }

    private bool IsUsable(Snapshot? snapshot, DateTimeOffset? notBefore) =>
        snapshot is not null && !_stale && Environment.TickCount64 < Volatile.Read(ref _refreshAtMillis)
        && (notBefore is null || snapshot.TakenAt >= notBefore);

    /// <summary>A model config not in the snapshot (a tree model, a model without deployments), read when asked.</summary>
    public async Task<TrainedModelConfig?> ConfigAsync(string modelId) =>
        (await CurrentAsync()).Configs.TryGetValue(modelId, out var config)
            ? config
            : await grains.GetGrain<ITrainedModelGrain>(modelId).GetConfig();

    public sealed record Snapshot(
        IReadOnlyList<TrainedModelAssignment> Assignments,
        IReadOnlyDictionary<string, string> Aliases,
        IReadOnlyDictionary<string, TrainedModelConfig> Configs,
        DateTimeOffset TakenAt)
    {
        // Ids seen while this snapshot is current; it is replaced at least every refresh interval under load.
        private const int MaxResolutions = 10_000;
        private readonly ConcurrentDictionary<string, Resolution> _resolutions = new(StringComparer.Ordinal);

        /// <summary>
        /// ES's resolution (TransportInternalInferModelAction) of an id in this snapshot, worked out once
        /// per id: an alias gives its model; a deployment id gives that deployment, else the model's
        /// deployments in their most preferred state (started, starting, stopping, the rest).
        /// </summary>
        public Resolution Resolve(string id)
        {
            if (_resolutions.TryGetValue(id, out var resolution)) return resolution;
            resolution = Compute(id);
            if (_resolutions.Count < MaxResolutions) _resolutions.TryAdd(id, resolution);
            return resolution;
        }

        private Resolution Compute(string id)
        {
            var modelId = Aliases.TryGetValue(id, out var aliased) ? aliased : id;
            var chosen = new List<TrainedModelAssignment>();
            foreach (var assignment in Assignments)
                if (assignment.TaskParameters.DeploymentId == modelId)
                {
                    chosen.Add(assignment);
                    break;
                }
            if (chosen.Count == 0)
            {
                var best = int.MaxValue;
                foreach (var assignment in Assignments)
                {
                    if (assignment.TaskParameters.ModelId != modelId) continue;
                    var preference = StatePreference(assignment.AssignmentState);
                    if (preference < best) (best, chosen) = (preference, []);
                    if (preference == best) chosen.Add(assignment);
                }
            }
            return new Resolution(modelId, chosen.Select(d => new Candidate(d, Configs.GetValueOrDefault(d.TaskParameters.ModelId))).ToArray());
        }

        private static int StatePreference(AssignmentState state) => state switch
        {
            AssignmentState.Started => 0,
            AssignmentState.Starting => 1,
            AssignmentState.Stopping => 2,
            _ => 3,
        };
    }

    /// <summary>What an id resolved to: its model (after the alias) and the equally preferred deployments, of which a request takes one at random.</summary>
    public sealed class Resolution(string modelId, Candidate[] candidates)
    {
        public string ModelId { get; } = modelId;

        public Candidate? Pick() => candidates.Length switch
        {
            0 => null,
            1 => candidates[0],
            var n => candidates[Random.Shared.Next(n)],
        };
    }

    /// <summary>A deployment an id may reach, with its model's config if the snapshot has it.</summary>
    public sealed class Candidate(TrainedModelAssignment deployment, TrainedModelConfig? config)
    {
        public TrainedModelAssignment Deployment { get; } = deployment;
        public TrainedModelConfig? Config { get; } = config;

        /// <summary>Requests may go to it now: neither stopping nor failed, routable on some node, its config known.</summary>
        public bool Ready { get; } = config is not null
                                     && deployment.AssignmentState is not (AssignmentState.Stopping or AssignmentState.Failed)
                                     && deployment.RoutingTable.Values.Any(AssignmentStatus.IsRoutable);

        /// <summary>Where a tensor request may take the short way (a ready ONNX deployment), made once per snapshot, not per request.</summary>
        public TensorTarget? TensorTarget => _tensorTarget ??= Ready && Config!.Onnx is { } signature ? new TensorTarget(Deployment, signature) : null;

        private TensorTarget? _tensorTarget;
    }
}
