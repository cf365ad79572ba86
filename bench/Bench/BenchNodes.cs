using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Orleans;
using Orleans.Runtime;
using TrainedModelsOrleans.Silo;

namespace TrainedModelsOrleans.Bench;

/// <summary>A node started in this process as the product starts one (<see cref="SiloHost.StartAsync"/>), with its silo name and ports.</summary>
public sealed class InProcessNode(SiloHost host, string name, int siloPort, int gatewayPort, string dataDirectory) : IAsyncDisposable
{
    public SiloHost Host { get; } = host;
    public string Name { get; } = name;
    public int SiloPort { get; } = siloPort;
    public int GatewayPort { get; } = gatewayPort;

    /// <summary>host:port of the silo's Orleans gateway, where external clients connect.</summary>
    public string Gateway => $"127.0.0.1:{GatewayPort}";

    /// <summary>The co-hosted grain factory: calls from here start on this silo.</summary>
    public IGrainFactory Grains => Host.Services.GetRequiredService<IGrainFactory>();

    public IClusterMembershipService Membership => Host.Services.GetRequiredService<IClusterMembershipService>();

    /// <summary>
    /// Starts a node (HTTP API on a free port, its own silo and gateway ports) on <paramref name="connectionString"/>.
    /// Its logs go to stderr, so they do not mix with the tables on stdout.
    /// </summary>
    public static async Task<InProcessNode> StartAsync(string connectionString, string name, params string[] extra)
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "tmo-bench", $"{name}-{Guid.NewGuid():N}");
        var (siloPort, gatewayPort) = (BenchPorts.Free(), BenchPorts.Free());
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var host = await SiloHost.StartAsync(
        [
            "--Urls=http://127.0.0.1:0", .. BenchSecurity.Arguments, $"--ConnectionStrings:Postgres={connectionString}", $"--DataDirectory={dataDirectory}",
            $"--Node:Name={name}", $"--Node:SiloPort={siloPort}", $"--Node:GatewayPort={gatewayPort}",
            "--Logging:LogLevel:Default=Warning", "--Logging:LogLevel:TrainedModelsOrleans=Warning", "--Logging:LogLevel:Microsoft.Hosting.Lifetime=Warning",
            "--Logging:Console:LogToStandardErrorThreshold=Trace",
            .. extra,
        ], timeout.Token);
        return new InProcessNode(host, name, siloPort, gatewayPort, dataDirectory);
    }

    /// <summary>Waits (bounded) until this silo sees every named silo Active in its membership view.</summary>
    public async Task WaitUntilActiveAsync(IReadOnlyCollection<string> names, TimeSpan bound)
    {
        var clock = Stopwatch.StartNew();
        while (!names.All(n => Membership.CurrentSnapshot.Members.Values.Any(m => m.Name == n && m.Status == SiloStatus.Active)))
        {
            if (clock.Elapsed > bound)
                throw new TimeoutException($"{Name} did not see {string.Join(", ", names)} active within {bound.TotalSeconds:0} s; it sees: " +
                                           string.Join(", ", Membership.CurrentSnapshot.Members.Values.Select(m => $"{m.Name}={m.Status}")));
            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await Host.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(60));
        }
        finally
        {
            try { Directory.Delete(dataDirectory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}

public static class BenchPorts
{
    public static int Free()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
