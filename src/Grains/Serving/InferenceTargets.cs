using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.ModelStore;
using TrainedModelsOrleans.Grains.Models;
using TrainedModelsOrleans.Runtime;
using TrainedModelsOrleans.Runtime.Cluster;

namespace TrainedModelsOrleans.Grains.Serving;

/// <summary>
/// This silo's view of what inference can reach: assignments, aliases and model configs, refreshed at
/// most every <see cref="ServingOptions.TargetRefreshInterval"/> (or at once after a local change), so
/// a request resolves from memory. A request keeps the target it resolved, so an alias move never
/// breaks a request in flight.
/// </summary>
public sealed class InferenceTargets(IGrainFactory grains, ModelStoreTables models, ServingOptions options, TimeProvider clock)
{
    private readonly SemaphoreSlim _refresh = new(1, 1);
    private volatile Snapshot? _snapshot;
    private volatile bool _stale = true;

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
            _stale = false;
            IReadOnlyList<TrainedModelAssignment> assignments;
            try
            {
                assignments = await grains.GetGrain<IAssignmentCoordinatorGrain>(AssignmentCoordinatorGrain.Key).GetAssignments();
            }
            catch (Exception e) when (snapshot is not null && e is SiloUnavailableException or TimeoutException)
            {
                // The coordinator's silo just died and its grain has not moved yet: routes seen a moment ago
                // are still the best guess, and the router skips nodes that cannot be reached.
                _snapshot = snapshot with { TakenAt = takenAt };
                return snapshot;
            }
            var aliases = await models.AliasesAsync(CancellationToken.None);
            var wanted = assignments.Select(a => a.TaskParameters.ModelId).Concat(aliases.Values).Distinct().ToArray();
            var configs = new Dictionary<string, TrainedModelConfig>(snapshot?.Configs ?? new Dictionary<string, TrainedModelConfig>(), StringComparer.Ordinal);
            foreach (var (id, record) in await models.RecordsAsync(wanted.Where(id => !configs.ContainsKey(id)).ToArray(), CancellationToken.None))
                if (record.Config is { } config) configs[id] = config;
            _snapshot = snapshot = new Snapshot(assignments, aliases, configs, takenAt);
            return snapshot;
        }
        finally
        {
            _refresh.Release();
        }
    }

    private bool IsUsable(Snapshot? snapshot, DateTimeOffset? notBefore) =>
        snapshot is not null && !_stale && clock.GetUtcNow() - snapshot.TakenAt < options.TargetRefreshInterval
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
        DateTimeOffset TakenAt);
}
