using System.Diagnostics;
using TrainedModelsOrleans.Grains.Models;
using Xunit;
using Xunit.Abstractions;

namespace TrainedModelsOrleans.ControlPlane.Tests;

/// <summary>A test class on the shared <see cref="ControlPlaneCluster"/>: the cluster's log goes to the test's output while it runs.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public abstract class ControlPlaneTest : IClassFixture<ControlPlaneCluster>, IDisposable
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    protected ControlPlaneTest(ControlPlaneCluster cluster, ITestOutputHelper output)
    {
        Cluster = cluster;
        Output = output;
        cluster.Log.Output = output;
        output.WriteLine($"cluster of {string.Join(", ", cluster.Nodes.Select(n => $"{n.Name} ({n.Processors} processors)"))} ready in {cluster.StartTime.TotalMilliseconds:F0} ms");
    }

    protected ControlPlaneCluster Cluster { get; }
    protected ITestOutputHelper Output { get; }
    protected IMlIdsGrain Ids => Cluster.Grain<IMlIdsGrain>(IMlIdsGrain.Key);

    public void Dispose()
    {
        Output.WriteLine($"test took {_clock.Elapsed.TotalMilliseconds:F0} ms");
        Cluster.Log.Output = null;
        GC.SuppressFinalize(this);
    }
}
