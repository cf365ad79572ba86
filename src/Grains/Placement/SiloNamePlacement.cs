using Orleans.Placement;
using Orleans.Runtime;
using Orleans.Runtime.Placement;

namespace TrainedModelsOrleans.Grains.Placement;

/// <summary>
/// Places a grain on the silo its key names: the key is the silo name, or "silo-name/…". Binds a
/// node's NodeCapacityGrain and its inference workers to the silo whose processors the plan granted
/// ([StatelessWorker] always places locally, and SiloRoleBasedPlacement needs a role ADO.NET clustering
/// does not record).
/// </summary>
[Serializable, GenerateSerializer, Immutable, Alias("tmo.SiloNamePlacement")]
public sealed class SiloNamePlacement : PlacementStrategy
{
    public static readonly SiloNamePlacement Instance = new();

    /// <summary>The silo name a key names.</summary>
    public static string SiloNameOf(string key)
    {
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        return slash < 0 ? key : key[..slash];
    }
}

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
public sealed class SiloNamePlacementAttribute() : PlacementAttribute(SiloNamePlacement.Instance);

/// <summary>Finds the active silo with the key's name; a call while no such silo is active fails with SiloUnavailableException.</summary>
public sealed class SiloNamePlacementDirector(IClusterMembershipService membership) : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var name = SiloNamePlacement.SiloNameOf(target.GrainIdentity.Key.ToString()!);
        var compatible = context.GetCompatibleSilos(target);
        foreach (var member in membership.CurrentSnapshot.Members.Values)
            if (member.Status == SiloStatus.Active && member.Name == name && compatible.Contains(member.SiloAddress))
                return Task.FromResult(member.SiloAddress);
        throw new SiloUnavailableException($"No active silo named [{name}]");
    }
}
