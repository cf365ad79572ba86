using TrainedModelsOrleans.Silo;
using TrainedModelsOrleans.TestSupport;
using Xunit;

namespace TrainedModelsOrleans.Api.Tests;

/// <summary>
/// The whole service (silo + HTTP API on real Kestrel, 127.0.0.1, a free port) over a database of
/// this test class. Restart() stops the node and starts a new one on the same database.
/// </summary>
public class ServiceFixture : IAsyncLifetime
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "tmo-api-tests", Guid.NewGuid().ToString("N"));

    public TestDatabase Database { get; private set; } = null!;
    public SiloHost Node { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Database = await TestDatabase.CreateAsync("api");
        await BeforeFirstStartAsync(Database);
        await StartNodeAsync();
    }

    public async Task RestartAsync()
    {
        Http.Dispose();
        await Node.DisposeAsync();
        await StartNodeAsync();
    }

    /// <summary>What a derived fixture puts in the database before the node first starts (e.g. an older release's rows).</summary>
    protected virtual Task BeforeFirstStartAsync(TestDatabase database) => Task.CompletedTask;

    /// <summary>Extra command-line settings a derived fixture adds (e.g. --Ml:MaxLazyNodes=3).</summary>
    protected virtual string[] ExtraArguments => [];

    private async Task StartNodeAsync()
    {
        Node = await SiloHost.StartAsync(
        [
            .. TestSecurity.Arguments,
            .. ExtraArguments,
            "--Urls=http://127.0.0.1:0",
            $"--ConnectionStrings:Postgres={Database.ConnectionString}",
            $"--DataDirectory={_dataDirectory}",
            "--Node:Name=api-test-node",
            "--Node:Processors=4",
            "--Node:MemoryBytes=17179869184",
            "--Logging:LogLevel:Default=Warning",
            "--Logging:LogLevel:TrainedModelsOrleans=Warning",
            "--Logging:LogLevel:Microsoft.Hosting.Lifetime=Warning",
        ]);
        Http = TestSecurity.Client(Node.BaseAddress, TimeSpan.FromSeconds(60));
    }

    private readonly List<SiloHost> _extraNodes = new();

    /// <summary>
    /// Another ML node: a second silo in this process on the same database, with its own name and processors.
    /// The planner gives it allocations like any node; stopping it makes it leave the cluster.
    /// </summary>
    public async Task<SiloHost> AddNodeAsync(string name, int processors, long memoryBytes = 16L << 30)
    {
        var node = await SiloHost.StartAsync(
        [
            .. TestSecurity.Arguments,
            "--Urls=http://127.0.0.1:0",
            $"--ConnectionStrings:Postgres={Database.ConnectionString}",
            $"--DataDirectory={_dataDirectory}",
            $"--Node:Name={name}",
            $"--Node:Processors={processors}",
            $"--Node:MemoryBytes={memoryBytes}",
            "--Logging:LogLevel:Default=Warning",
            "--Logging:LogLevel:TrainedModelsOrleans=Warning",
            "--Logging:LogLevel:Microsoft.Hosting.Lifetime=Warning",
        ]);
        lock (_extraNodes) _extraNodes.Add(node);
        return node;
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        foreach (var extra in _extraNodes) await extra.DisposeAsync();
        await Node.DisposeAsync();
        await Database.DisposeAsync();
        try { Directory.Delete(_dataDirectory, recursive: true); } catch (DirectoryNotFoundException) { }
    }

    public Task<Response> GetAsync(string path) => SendAsync(HttpMethod.Get, path);
    public Task<Response> DeleteAsync(string path) => SendAsync(HttpMethod.Delete, path);
    public Task<Response> PutAsync(string path, object? body = null) => SendAsync(HttpMethod.Put, path, body);
    public Task<Response> PostAsync(string path, object? body = null) => SendAsync(HttpMethod.Post, path, body);

    public Task<Response> SendAsync(HttpMethod method, string path, object? body = null, string contentType = "application/json") =>
        Http.SendJsonAsync(method, path, body, contentType);
}

