using TrainedModelsOrleans.Runtime.Catalog;

namespace TrainedModelsOrleans.Runtime.GrainDirectory;

/// <summary>Where each grain's single activation lives, cluster-wide; first writer wins.</summary>
internal interface IGrainDirectory
{
    /// <summary>Claims the grain for this activation; throws if a live activation elsewhere holds it.</summary>
    Task RegisterAsync(ActivationData activation, CancellationToken cancellationToken);

    /// <summary>Removes the entry only if it still names this activation.</summary>
    Task UnregisterAsync(ActivationData activation, CancellationToken cancellationToken);

    /// <summary>Drops every entry of a silo generation: this one on a graceful leave, a peer's once it is declared dead.</summary>
    Task UnregisterSiloAsync(string silo, long generation, CancellationToken cancellationToken);
}

/// <summary>The grain is active on another live silo (remote calls arrive with the cluster transport).</summary>
public sealed class GrainActivatedElsewhereException(GrainId grain, string silo, long generation)
    : Exception($"{grain} is active on silo {silo} (generation {generation}).")
{
    public string Silo { get; } = silo;
    public long Generation { get; } = generation;
}
