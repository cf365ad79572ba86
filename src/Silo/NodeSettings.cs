using TrainedModelsOrleans.Grains;
using TrainedModelsOrleans.Grains.Wire;
using TrainedModelsOrleans.Runtime.Hosting;

namespace TrainedModelsOrleans.Silo;

/// <summary>
/// The node's configuration keys (appsettings.json, environment variables, command line):
/// Urls, DataDirectory, ConnectionStrings:Postgres, Node:Name, Node:Processors, Node:MemoryBytes,
/// Node:TransportPort, Cluster:Name, Cluster:DeathTimeout, Cluster:HeartbeatPeriod, Client:Gateways (API-only
/// process), and the runtime's Runtime:* options.
/// </summary>
public sealed class NodeSettings
{
    public const string DefaultUrls = "http://127.0.0.1:9200";
    /// <summary>As in Elasticsearch (HTTP 9200, transport 9300): the HTTP port + 100; any free port when HTTP takes any.</summary>
    public static int DefaultTransportPortFor(int httpPort) => httpPort is > 0 and <= 65435 ? httpPort + 100 : 0;

    public required string DataDirectory { get; init; }
    public required string NodeName { get; init; }
    public required string ClusterName { get; init; }
    public required int Processors { get; init; }
    public required long MemoryBytes { get; init; }
    /// <summary>host:port of the silo transport (silo-to-silo calls and clients); Node:TransportPort, default the HTTP port + 100 (9300).</summary>
    public required string TransportAddress { get; init; }
    public TimeSpan? DeathTimeout { get; init; }

    /// <summary>Client:Gateways (comma-separated host:port): run only the API, as a client of these silos.</summary>
    public IReadOnlyList<string> Gateways { get; init; } = [];
    public TimeSpan? HeartbeatPeriod { get; init; }
    public TimeSpan? CollectionAge { get; init; }
    public TimeSpan? ResponseTimeout { get; init; }

    public static NodeSettings From(IConfiguration configuration)
    {
        var dataDirectory = Path.GetFullPath(configuration["DataDirectory"] ?? "./data");
        Directory.CreateDirectory(dataDirectory);
        var urls = configuration["Urls"];
        var firstUrl = (string.IsNullOrEmpty(urls) ? DefaultUrls : urls).Split(';', StringSplitOptions.RemoveEmptyEntries)[0];
        var uri = new Uri(firstUrl.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal));
        return new NodeSettings
        {
            DataDirectory = dataDirectory,
            NodeName = configuration["Node:Name"] ?? Environment.MachineName.ToLowerInvariant(),
            ClusterName = configuration["Cluster:Name"] ?? "trained-models-orleans",
            Processors = configuration.GetValue<int?>("Node:Processors") ?? Environment.ProcessorCount,
            MemoryBytes = configuration.GetValue<long?>("Node:MemoryBytes") ?? GC.GetGCMemoryInfo().TotalAvailableMemoryBytes,
            TransportAddress = $"{(uri.Host is "0.0.0.0" or "localhost" ? "127.0.0.1" : uri.Host)}:{configuration.GetValue<int?>("Node:TransportPort") ?? DefaultTransportPortFor(uri.Port)}",
            DeathTimeout = configuration.GetValue<TimeSpan?>("Cluster:DeathTimeout"),
            Gateways = (configuration["Client:Gateways"] ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            HeartbeatPeriod = configuration.GetValue<TimeSpan?>("Cluster:HeartbeatPeriod"),
            CollectionAge = configuration.GetValue<TimeSpan?>("Runtime:CollectionAge"),
            ResponseTimeout = configuration.GetValue<TimeSpan?>("Runtime:ResponseTimeout"),
        };
    }

    public void Configure(SiloConfiguration silo)
    {
        silo.Silo.SiloName = NodeName;
        silo.Silo.AllocatedProcessors = Processors;
        silo.Silo.MemoryBytes = MemoryBytes;
        silo.Silo.Address = TransportAddress;
        if (DeathTimeout is { } death) silo.Silo.DeathTimeout = death;
        if (HeartbeatPeriod is { } heartbeat) silo.Silo.HeartbeatPeriod = heartbeat;
        silo.WireJsonOptions = GrainsWire.JsonOptions();
        silo.ExceptionCodecs.AddRange(GrainsWire.ExceptionCodecs());
        if (CollectionAge is { } age) silo.Runtime.CollectionAge = age;
        if (ResponseTimeout is { } timeout) silo.Runtime.ResponseTimeout = timeout;
        silo.GrainAssemblies.Add(typeof(GrainsAssembly).Assembly);
        silo.SchemaDirectory = Path.Combine(AppContext.BaseDirectory, "db");
    }
}
