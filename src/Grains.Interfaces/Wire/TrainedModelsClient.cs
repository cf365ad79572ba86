using System.Net;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Serialization;

namespace TrainedModelsOrleans.Grains.Wire;

/// <summary>
/// What silos and Orleans clients of this product agree on: the service and cluster ids, and how the
/// contracts' JSON parts (System.Text.Json nodes) are serialized. Other .NET services use
/// <see cref="UseTrainedModelsCluster"/> inside their own <c>UseOrleansClient</c>, or <see cref="ConnectAsync"/>.
/// </summary>
public static class TrainedModelsClient
{
    /// <summary>Stored in every grain state row by Orleans: never change it.</summary>
    public const string ServiceId = "trained-models-orleans";

    /// <summary>The membership table's deployment id, unless Cluster:Name says otherwise.</summary>
    public const string DefaultClusterId = "trained-models-orleans";

    /// <summary>
    /// JSON documents (ES bodies, inference configs) cross grain calls as System.Text.Json nodes; the database driver's
    /// exceptions cross as themselves (Orleans serializes only Microsoft, System and Azure exceptions by default).
    /// </summary>
    public static ISerializerBuilder AddTrainedModelsSerializers(this ISerializerBuilder serializer)
    {
        serializer.Services.Configure<ExceptionSerializationOptions>(o => o.SupportedNamespacePrefixes.Add("Npgsql"));
        return serializer.AddJsonSerializer(isSupported: type => typeof(JsonNode).IsAssignableFrom(type));
    }

    /// <summary>Configures an Orleans client for the silos' gateways ("host:port", the silos' Node:GatewayPort).</summary>
    public static IClientBuilder UseTrainedModelsCluster(this IClientBuilder client, IEnumerable<string> gateways,
        string clusterId = DefaultClusterId)
    {
        client.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (clusterId, ServiceId));
        client.UseStaticClustering(gateways.Select(ParseEndPoint).ToArray());
        client.Services.AddSerializer(s => s.AddTrainedModelsSerializers());
        return client;
    }

    /// <summary>Starts an Orleans client connected to these gateways; dispose it to disconnect.</summary>
    public static async Task<TrainedModelsConnection> ConnectAsync(IEnumerable<string> gateways, Action<IClientBuilder>? configure = null,
        CancellationToken cancellationToken = default)
    {
        var builder = Host.CreateApplicationBuilder();
        // A library inside someone else's program: no start/stop banners, only warnings and errors.
        builder.Logging.SetMinimumLevel(LogLevel.Warning).AddFilter("Microsoft.Hosting.Lifetime", LogLevel.Warning);
        builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        builder.UseOrleansClient(client =>
        {
            client.UseTrainedModelsCluster(gateways);
            configure?.Invoke(client);
        });
        var host = builder.Build();
        try
        {
            await host.StartAsync(cancellationToken);
            return new TrainedModelsConnection(host);
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }

    public static IPEndPoint ParseEndPoint(string hostAndPort)
    {
        var colon = hostAndPort.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(hostAndPort[(colon + 1)..], out var port))
            throw new FormatException($"[{hostAndPort}] is not host:port");
        var host = hostAndPort[..colon];
        var address = host is "localhost" ? IPAddress.Loopback
            : IPAddress.TryParse(host, out var parsed) ? parsed
            : Dns.GetHostAddresses(host).First(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork);
        return new IPEndPoint(address, port);
    }
}

/// <summary>A running Orleans client: <see cref="Client"/> calls grains by interface.</summary>
public sealed class TrainedModelsConnection(IHost host) : IAsyncDisposable
{
    public IClusterClient Client { get; } = host.Services.GetRequiredService<IClusterClient>();

    public TGrain GetGrain<TGrain>(string key) where TGrain : IGrainWithStringKey => Client.GetGrain<TGrain>(key);

    public async ValueTask DisposeAsync()
    {
        try
        {
            await host.StopAsync(TimeSpan.FromSeconds(10));
        }
        finally
        {
            host.Dispose();
        }
    }
}
