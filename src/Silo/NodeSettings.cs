using TrainedModelsOrleans.Grains;
using TrainedModelsOrleans.Runtime.Hosting;

namespace TrainedModelsOrleans.Silo;

/// <summary>
/// The node's configuration keys (appsettings.json, environment variables, command line):
/// Urls, DataDirectory, ConnectionStrings:Postgres, Node:Name, Node:Processors, Node:MemoryBytes,
/// Cluster:Name, and the runtime's Runtime:* options.
/// </summary>
public sealed class NodeSettings
{
    public const string DefaultUrls = "http://127.0.0.1:9200";

    public required string DataDirectory { get; init; }
    public required string NodeName { get; init; }
    public required string ClusterName { get; init; }
    public required int Processors { get; init; }
    public required long MemoryBytes { get; init; }
    public required string Address { get; init; }
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
            Address = $"{uri.Host}:{uri.Port}",
            CollectionAge = configuration.GetValue<TimeSpan?>("Runtime:CollectionAge"),
            ResponseTimeout = configuration.GetValue<TimeSpan?>("Runtime:ResponseTimeout"),
        };
    }

    public void Configure(SiloConfiguration silo)
    {
        silo.Silo.SiloName = NodeName;
        silo.Silo.AllocatedProcessors = Processors;
        silo.Silo.MemoryBytes = MemoryBytes;
        silo.Silo.Address = Address;
        if (CollectionAge is { } age) silo.Runtime.CollectionAge = age;
        if (ResponseTimeout is { } timeout) silo.Runtime.ResponseTimeout = timeout;
        silo.GrainAssemblies.Add(typeof(GrainsAssembly).Assembly);
        silo.SchemaDirectory = Path.Combine(AppContext.BaseDirectory, "db");
    }
}
