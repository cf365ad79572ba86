using Orleans;

namespace TrainedModelsOrleans.Grains.Cluster;

/// <summary>Facts about the cluster an API process shows in GET / (a stateless worker on every silo).</summary>
public interface IClusterInfoGrain : IGrainWithStringKey
{
    /// <summary>ES's cluster_uuid: derived from the database's system identifier, so every node reports the same.</summary>
    Task<string> GetClusterUuid();
}
