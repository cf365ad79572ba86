using System.Collections.Concurrent;

namespace TrainedModelsOrleans.Grains.Serving;

/// <summary>
/// This node's asks to wake deployments scaled to zero: at most one to the coordinator per deployment in each
/// interval, however many requests find no allocation meanwhile (as ES keeps its in-flight set on each node, so a
/// burst of requests does not become a burst of scale-ups queued at the coordinator).
/// </summary>
public sealed class WakeRequests(TimeProvider time)
{
    /// <summary>How long after an ask this node asks again for the same deployment (the allocation may still be loading).</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(2);

    private readonly ConcurrentDictionary<string, long> _lastAsked = new(StringComparer.Ordinal);

    /// <summary>True when this node should ask now (and records the ask); false while an ask for it is recent.</summary>
    public bool TryBegin(string deploymentId)
    {
        var now = time.GetTimestamp();
        while (true)
        {
            if (!_lastAsked.TryGetValue(deploymentId, out var last))
            {
                if (_lastAsked.TryAdd(deploymentId, now)) return true;
                continue;
            }
            if (time.GetElapsedTime(last, now) < Interval) return false;
            if (_lastAsked.TryUpdate(deploymentId, now, last)) return true;
        }
    }
}
