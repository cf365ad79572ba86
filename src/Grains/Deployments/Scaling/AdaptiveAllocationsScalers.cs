namespace TrainedModelsOrleans.Grains.Deployments.Scaling;

/// <summary>One node's counters for a deployment as a poll reads them (the node's cumulative stats).</summary>
/// <param name="AverageInferenceTimeMs">The node's average over all its inferences (0 before the first).</param>
/// <param name="StartTime">When the node's executor for the deployment started (epoch ms), if it runs.</param>
public sealed record NodeObservation(string Node, RoutingState RoutingState, long InferenceCount, long PendingCount, long FailedCount,
    double AverageInferenceTimeMs, long? StartTime);

/// <summary>A deployment as one poll sees it: its committed assignment and its nodes' counters.</summary>
public sealed record DeploymentObservation(TrainedModelAssignment Assignment, IReadOnlyList<NodeObservation> Nodes)
{
    public string DeploymentId => Assignment.TaskParameters.DeploymentId;
}

/// <summary>The scaler's decision for a deployment: from the allocations it had when polled to the new number.</summary>
public sealed record ScalingDecision(string DeploymentId, int From, int To);

/// <summary>
/// Elasticsearch's AdaptiveAllocationsScalerService without its I/O: a scaler per deployment whose adaptive allocations
/// are enabled; each poll turns every node's cumulative counters into what happened since the last poll, summed over the
/// nodes, feeds the scaler and returns its decisions — except a scale down within the cool-down of a scale up (made here,
/// from zero, or seen as a route starting or an executor started within it), and any change while the deployment is not
/// started. The caller applies the decisions and polls again.
/// </summary>
public sealed class AdaptiveAllocationsScalers(AdaptiveAllocationsOptions options)
{
    private readonly Dictionary<string, AdaptiveAllocationsScaler> _scalers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Dictionary<string, RequestStats>> _lastStats = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTimeOffset> _lastScaleUp = new(StringComparer.Ordinal);
    private DateTimeOffset? _lastPoll;

    /// <summary>Enabled adaptive allocations (ES: <c>enabled</c> must be true).</summary>
    public static bool IsEnabled(TrainedModelAssignment assignment) => assignment.AdaptiveAllocations?.Enabled == true;

    /// <summary>ES's maybeStartAllocation condition: enabled, and min_number_of_allocations 0 or unset.</summary>
    public static bool ScalesFromZero(TrainedModelAssignment assignment) =>
        IsEnabled(assignment) && assignment.AdaptiveAllocations!.MinNumberOfAllocations is null or 0 or -1;

    /// <summary>The deployments scaled now.</summary>
    public IReadOnlyCollection<string> Tracked => _scalers.Keys;

    public AdaptiveAllocationsScaler? ScalerOf(string deploymentId) => _scalers.GetValueOrDefault(deploymentId);

    /// <summary>Keeps a scaler for each enabled deployment (with its current min and max) and drops the others; returns the enabled ones.</summary>
    public IReadOnlyList<TrainedModelAssignment> Track(IEnumerable<TrainedModelAssignment> assignments)
    {
        var enabled = new List<TrainedModelAssignment>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var assignment in assignments)
        {
            var id = assignment.TaskParameters.DeploymentId;
            seen.Add(id);
            if (!IsEnabled(assignment) || assignment.AssignmentState == AssignmentState.Stopping)
            {
                Forget(id);
                continue;
            }
            if (!_scalers.TryGetValue(id, out var scaler))
                _scalers[id] = scaler = new AdaptiveAllocationsScaler(AssignmentStatus.TotalTargetAllocations(assignment), options.ScaleToZeroTime);
            var settings = assignment.AdaptiveAllocations!;
            scaler.SetMinMax(Count(settings.MinNumberOfAllocations), Count(settings.MaxNumberOfAllocations));
            enabled.Add(assignment);
        }
        foreach (var id in _scalers.Keys.Where(id => !seen.Contains(id)).ToArray()) Forget(id);
        return enabled;
    }

    /// <summary>One poll: the decisions to apply.</summary>
    public IReadOnlyList<ScalingDecision> Process(IReadOnlyList<DeploymentObservation> observations, DateTimeOffset now)
    {
        double? interval = _lastPoll is { } last ? (now - last).TotalSeconds : null;
        _lastPoll = now;
        var cooldownMs = (long)options.ScaleCooldownTime.TotalMilliseconds;
        var decisions = new List<ScalingDecision>();
        foreach (var observation in observations)
        {
            var id = observation.DeploymentId;
            if (!_scalers.TryGetValue(id, out var scaler)) continue;
            var previous = _lastStats.TryGetValue(id, out var p) ? p : _lastStats[id] = new(StringComparer.Ordinal);
            RequestStats? recent = null;
            var recentlyStarted = false;
            foreach (var node in observation.Nodes)
            {
                var next = new RequestStats(node.InferenceCount, node.PendingCount, node.FailedCount, node.AverageInferenceTimeMs / 1000.0);
                if (previous.TryGetValue(node.Node, out var before))
                {
                    // A node whose executor started again counts from zero.
                    if (next.SuccessCount < before.SuccessCount) before = default;
                    var delta = next.Subtract(before);
                    recent = recent is { } sum ? sum.Add(delta) : delta;
                }
                previous[node.Node] = next;
                if (node.RoutingState == RoutingState.Starting) recentlyStarted = true;
                if (node.StartTime is { } started && now.ToUnixTimeMilliseconds() < started + cooldownMs) recentlyStarted = true;
            }
            foreach (var gone in previous.Keys.Where(n => observation.Nodes.All(o => o.Node != n)).ToArray()) previous.Remove(gone);

            if (interval is not { } seconds || seconds <= 0 || recent is not { } stats) continue;
            var current = observation.Assignment.TaskParameters.NumberOfAllocations;
            scaler.Process(stats, seconds, current);
            if (scaler.Scale() is not { } wanted || wanted == current) continue;

            var recentScaleUp = _lastScaleUp.TryGetValue(id, out var up) && now < up + options.ScaleCooldownTime;
            if (wanted < current && (recentScaleUp || recentlyStarted)) continue;
            if (observation.Assignment.AssignmentState != AssignmentState.Started) continue;
            if (wanted > current) _lastScaleUp[id] = now;
            decisions.Add(new ScalingDecision(id, current, wanted));
        }
        return decisions;
    }

    /// <summary>A request found no allocation (ES's maybeStartAllocation): counts as a scale up and restarts the idle time.</summary>
    public void ScalingFromZero(string deploymentId, DateTimeOffset now)
    {
        _lastScaleUp[deploymentId] = now;
        ScalerOf(deploymentId)?.ResetTimeWithoutRequests();
    }

    private void Forget(string id)
    {
        _scalers.Remove(id);
        _lastStats.Remove(id);
        _lastScaleUp.Remove(id);
    }

    /// <summary>-1 is "unset" in the request forms.</summary>
    private static int? Count(int? value) => value is -1 ? null : value;
}
