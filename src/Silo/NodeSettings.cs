using System.Net;
using System.Net.Sockets;
using TrainedModelsOrleans.Grains.Serving;
using TrainedModelsOrleans.Grains.Wire;

namespace TrainedModelsOrleans.Silo;

/// <summary>
/// The node's configuration keys (appsettings.json, environment variables, command line): Urls,
/// DataDirectory, ConnectionStrings:Postgres, Node:Name, Node:Processors, Node:MemoryBytes,
/// Node:SiloPort, Node:GatewayPort, Node:TransportHost, Cluster:Name, Client:Gateways (API-only process). Orleans' own
/// options are bound from Cluster:Membership (ClusterMembershipOptions) and Runtime:*.
/// </summary>
public sealed class NodeSettings
{
    public const string DefaultUrls = "http://127.0.0.1:9200";

    /// <summary>As Elasticsearch puts its transport next to HTTP (9200 → 9300): silo-to-silo at the HTTP port + 100.</summary>
    public const int SiloPortOffset = 100;

    /// <summary>The Orleans gateway (clients) at the HTTP port + 200 (9400), so silos started with consecutive HTTP ports never collide.</summary>
    public const int GatewayPortOffset = 200;

    public required string DataDirectory { get; init; }
    public required string NodeName { get; init; }
    public required string ClusterName { get; init; }
    public required int Processors { get; init; }
    public required long MemoryBytes { get; init; }

    /// <summary>
    /// The address the silo and gateway ports listen on and are reached at: Node:TransportHost, else loopback. The Orleans
    /// transport is not authenticated (trusted services inside the cluster network only), so it never follows Urls
    /// onto a public interface by itself.
    /// </summary>
    public required IPAddress AdvertisedAddress { get; init; }
    public required int SiloPort { get; init; }
    public required int GatewayPort { get; init; }

    /// <summary>Client:Gateways (comma-separated host:port of silos' gateway ports): run only the API, as an Orleans client.</summary>
    public IReadOnlyList<string> Gateways { get; init; } = [];

    public LocalNode LocalNode => new(NodeName, Processors, MemoryBytes);

    public static NodeSettings From(IConfiguration configuration)
    {
        var dataDirectory = Path.GetFullPath(configuration["DataDirectory"] ?? "./data");
        Directory.CreateDirectory(dataDirectory);
        var urls = configuration["Urls"];
        var firstUrl = (string.IsNullOrEmpty(urls) ? DefaultUrls : urls).Split(';', StringSplitOptions.RemoveEmptyEntries)[0];
        var uri = new Uri(firstUrl.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal));
        var transportHost = configuration["Node:TransportHost"];
        var address = string.IsNullOrWhiteSpace(transportHost) || transportHost is "localhost" ? IPAddress.Loopback
            : IPAddress.TryParse(transportHost, out var parsed) ? parsed
            : Dns.GetHostAddresses(transportHost).First(a => a.AddressFamily == AddressFamily.InterNetwork);
        var nodeName = configuration["Node:Name"] ?? Environment.MachineName.ToLowerInvariant();
        // The node name keys grains ("node-2", "node-2/my-deployment") and their state rows.
        if (nodeName.Length is 0 or > 100 || nodeName.Contains('/'))
            throw new ArgumentException($"Node:Name [{nodeName}] must have 1 to 100 characters and no '/'");
        return new NodeSettings
        {
            DataDirectory = dataDirectory,
            NodeName = nodeName,
            ClusterName = configuration["Cluster:Name"] ?? TrainedModelsClient.DefaultClusterId,
            Processors = configuration.GetValue<int?>("Node:Processors") ?? Environment.ProcessorCount,
            MemoryBytes = configuration.GetValue<long?>("Node:MemoryBytes") ?? GC.GetGCMemoryInfo().TotalAvailableMemoryBytes,
            AdvertisedAddress = address,
            SiloPort = configuration.GetValue<int?>("Node:SiloPort") ?? PortNextTo(uri.Port, SiloPortOffset),
            GatewayPort = configuration.GetValue<int?>("Node:GatewayPort") ?? PortNextTo(uri.Port, GatewayPortOffset),
            Gateways = (configuration["Client:Gateways"] ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
        };
    }

    /// <summary>The HTTP port plus the offset; a free loopback port when HTTP takes any port (0), as tests do.</summary>
    private static int PortNextTo(int httpPort, int offset) => httpPort is > 0 and <= 65335 ? httpPort + offset : FreePort();

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
