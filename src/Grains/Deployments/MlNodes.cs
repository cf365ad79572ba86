using System.Collections.Concurrent;
using Orleans;
using Orleans.Runtime;

namespace TrainedModelsOrleans.Grains.Deployments;

/// <summary>
/// The ML nodes the planner may use: the silos Orleans' membership holds Active and its placement can place grains
/// on (in the cluster manifest), with what each offers (asked of its NodeCapacityGrain once per silo generation).
/// A silo declared dead leaves this list when this silo's view learns it.
/// </summary>
/// <remarks>
/// Placement (SiloNamePlacement) only uses silos the manifest lists, and a killed silo left the manifest before
/// membership declared it dead: a plan that still counted it failed to reserve there, attempt after attempt.
/// </remarks>
public sealed class MlNodes(IClusterMembershipService membership, IClusterManifestProvider manifests, IGrainFactory grains)
{
    private static readonly TimeSpan OfferTimeout = TimeSpan.FromSeconds(5);
    private readonly ConcurrentDictionary<SiloAddress, NodeOffer> _offers = new();

    /// <summary>Live ML nodes, by name.</summary>
    public async Task<IReadOnlyList<MlNode>> LiveAsync(CancellationToken ct)
    {
        var placeable = manifests.Current.Silos;
        var active = membership.CurrentSnapshot.Members.Values
            .Where(m => m.Status == SiloStatus.Active && !string.IsNullOrEmpty(m.Name) && placeable.ContainsKey(m.SiloAddress)).ToArray();
        var offers = await Task.WhenAll(active.Select(m => OfferAsync(m, ct)));
        return offers.OfType<NodeOffer>().GroupBy(o => o.Node, StringComparer.Ordinal)
            .Select(g => g.Last()).OrderBy(o => o.Node, StringComparer.Ordinal)
            .Select(o => new MlNode(o.Node, o.Processors, o.MemoryBytes)).ToArray();
    }

    /// <summary>Every node name Orleans' membership knows, live or not (stats name the nodes routes mention).</summary>
    public IReadOnlyList<string> Known() =>
        membership.CurrentSnapshot.Members.Values.Select(m => m.Name).Where(n => !string.IsNullOrEmpty(n))
            .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();

    private async Task<NodeOffer?> OfferAsync(ClusterMember member, CancellationToken ct)
    {
        if (_offers.TryGetValue(member.SiloAddress, out var known)) return known;
        try
        {
            var offer = await grains.GetGrain<INodeCapacityGrain>(member.Name).GetOffer().WaitAsync(OfferTimeout, ct);
            _offers[member.SiloAddress] = offer;
            return offer;
        }
        catch (Exception e) when (e is SiloUnavailableException or TimeoutException or OrleansMessageRejectionException)
        {
            return null; // dying or not reachable yet: not a node to plan on now
        }
    }
}

/// <summary>An ML node as the planner sees it: a live silo and what it offers.</summary>
public sealed record MlNode(string Name, int AllocatedProcessors, long MemoryBytes);
