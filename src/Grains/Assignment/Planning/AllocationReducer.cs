namespace TrainedModelsOrleans.Grains.Assignment.Planning;

/// <summary>
/// Lowers a deployment's allocations without moving any (ES planning/AllocationReducer.java, one zone): used when the
/// requested number of allocations decreases, instead of re-planning.
/// </summary>
public static class AllocationReducer
{
    /// <summary>
    /// Repeatedly takes the node with the fewest allocations (ties: lowest id) and removes its whole route when it has one
    /// allocation or no more than are still to remove, otherwise one allocation from it, until <paramref name="target"/> is met.
    /// </summary>
    /// <returns>The allocations left per node, ordered by node id; removed routes are absent.</returns>
    /// <exception cref="ArgumentException">The total is already ≤ <paramref name="target"/> (as ES refuses it).</exception>
    public static IReadOnlyDictionary<string, int> Reduce(IReadOnlyDictionary<string, int> allocationsByNodeId, int target)
    {
        ArgumentNullException.ThrowIfNull(allocationsByNodeId);
        ArgumentOutOfRangeException.ThrowIfNegative(target);
        var routes = allocationsByNodeId.Where(e => e.Value > 0)
            .OrderBy(e => e.Key, StringComparer.Ordinal)
            .Select(e => (Node: e.Key, Allocations: e.Value))
            .ToList();
        if (routes.Sum(r => (long)r.Allocations) <= target)
            throw new ArgumentException("request to reduce allocations is greater than or equal to the existing target number of allocations", nameof(target));

        ReduceInPlace(routes, target);
        return AsSortedDictionary(routes);
    }

    /// <summary>The rule on (key, allocations) pairs already ordered by key; entries must be &gt; 0.</summary>
    internal static void ReduceInPlace<TNode>(List<(TNode Node, int Allocations)> routes, int target)
    {
        var total = routes.Sum(r => (long)r.Allocations);
        while (total > target)
        {
            var toRemove = total - target;
            var smallest = 0;
            for (var i = 1; i < routes.Count; i++)
                if (routes[i].Allocations < routes[smallest].Allocations)
                    smallest = i;

            var route = routes[smallest];
            if (route.Allocations == 1 || route.Allocations <= toRemove)
            {
                routes.RemoveAt(smallest);
                total -= route.Allocations;
            }
            else
            {
                routes[smallest] = (route.Node, route.Allocations - 1);
                total--;
            }
        }
    }

    private static IReadOnlyDictionary<string, int> AsSortedDictionary(IEnumerable<(string Node, int Allocations)> routes)
    {
        var sorted = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var (node, allocations) in routes) sorted[node] = allocations;
        return sorted.AsReadOnly();
    }
}
