using Npgsql;
using Orleans;
using Orleans.Concurrency;

namespace TrainedModelsOrleans.Grains.Cluster;

[StatelessWorker(1)]
public sealed class ClusterInfoGrain(NpgsqlDataSource dataSource) : Grain, IClusterInfoGrain
{
    public Task<string> GetClusterUuid() => ClusterUuid.ReadAsync(dataSource, CancellationToken.None);
}
