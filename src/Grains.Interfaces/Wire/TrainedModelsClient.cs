using Microsoft.Extensions.Logging;
using TrainedModelsOrleans.Runtime.Client;
using TrainedModelsOrleans.Runtime.Cluster;

namespace TrainedModelsOrleans.Grains.Wire;

/// <summary>The SDK's entry point: a cluster client that speaks the grain interfaces' wire format.</summary>
public static class TrainedModelsClient
{
    /// <summary>A client over these gateways ("host:port" of any silos' transport, e.g. 127.0.0.1:9300).</summary>
    public static ClusterClient Create(IEnumerable<string> gateways, Action<ClusterClientOptions>? configure = null,
        ILogger<ClusterClient>? logger = null)
    {
        var options = new ClusterClientOptions();
        options.Gateways.AddRange(gateways);
        configure?.Invoke(options);
        return new ClusterClient(options, RuntimeExceptionCodecs.Serializer(GrainsWire.JsonOptions(), GrainsWire.ExceptionCodecs()), logger);
    }

    /// <summary>Creates the client and proves a gateway answers.</summary>
    public static async Task<ClusterClient> ConnectAsync(IEnumerable<string> gateways, CancellationToken cancellationToken = default)
    {
        var client = Create(gateways);
        try
        {
            await client.ConnectAsync(cancellationToken);
            return client;
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }
}
