using FsCheck;
using FsCheck.Fluent;
using Microsoft.FSharp.Core;
using TrainedModelsOrleans.Grains.Assignment.Planning;
using TrainedModelsOrleans.Grains.Deployments;

namespace TrainedModelsOrleans.Grains.Assignment.Planning.Tests;

/// <summary>Random clusters and requests for the property tests, and the bounded, replayable FsCheck configuration.</summary>
public static class ClusterGenerator
{
    private const long MiB = Cluster.MiB;

    /// <summary>A fixed seed: every run checks the same cases; change it to explore others.</summary>
    public static Config Config(int maxTest) => FsCheck.Config.QuickThrowOnFailure
        .WithMaxTest(maxTest)
        .WithReplay(FSharpOption<Replay>.Some(new Replay(new Rnd(20240611UL, 0x9E3779B97F4A7C15UL), FSharpOption<int>.None)));

    public static Gen<PlannerNode> Node =>
        from cores in Gen.Choose(1, 32)
        from memoryMb in Gen.Frequency((1, Gen.Constant(0)), (9, Gen.Choose(0, 64 * 1024)))
        select new PlannerNode("", memoryMb * MiB, cores);

    public static Gen<PlannerNode[]> Nodes =>
        from count in Gen.Choose(0, 20)
        from nodes in Node.ArrayOf(count)
        select nodes.Select((n, i) => n with { Id = $"n_{i}" }).ToArray();

    /// <summary>
    /// Current allocations on some of the nodes, plus now and then on a node that left; counts are not checked against
    /// anything, so they may oversubscribe a node (as when nodes shrink).
    /// </summary>
    public static Gen<Dictionary<string, int>> Current(IReadOnlyList<PlannerNode> nodes) =>
        from routes in Gen.Frequency(
            (3, Gen.Constant(Array.Empty<(string, int)>())),
            (2, (from pick in Gen.Choose(0, Math.Max(0, nodes.Count + 1))
                 from count in Gen.Choose(1, 8)
                 select (pick < nodes.Count ? nodes[pick].Id : $"gone_{pick}", count)).ArrayOf(3)))
        select routes.GroupBy(r => r.Item1).ToDictionary(g => g.Key, g => g.First().Item2);

    public static Gen<PlannerDeployment> Deployment(IReadOnlyList<PlannerNode> nodes) =>
        from low in Gen.Frequency((5, Gen.Constant(false)), (1, Gen.Constant(true)))
        from threads in low ? Gen.Constant(1) : Gen.Elements(1, 2, 4, 8, 16, 32)
        from allocations in low ? Gen.Constant(1) : Gen.Choose(1, 64)
        from memoryMb in Gen.Choose(240, 16 * 1024)
        from current in Current(nodes)
        from extraMax in Gen.Frequency((3, Gen.Constant(0)), (1, Gen.Choose(1, 8)))
        select new PlannerDeployment("", memoryMb * MiB, allocations, threads, current,
            current.Values.Sum() + extraMax, low ? Priority.Low : Priority.Normal);

    public static Gen<Cluster> Clusters =>
        from nodes in Nodes
        from count in Gen.Choose(0, 50)
        from deployments in Deployment(nodes).ArrayOf(count)
        select new Cluster(nodes, deployments.Select((d, i) => d with { Id = $"d_{i:00}" }).ToArray());

    /// <summary>Clusters whose deployments have no current allocations (to plan from scratch, then grow).</summary>
    public static Gen<Cluster> FreshClusters =>
        Clusters.Select(c => c with
        {
            Deployments = c.Deployments.Select(d => d with { CurrentAllocationsByNodeId = new Dictionary<string, int>(), MaxAssignedAllocations = 0 }).ToList(),
        });

    public static Gen<PlannerDeployment> NewNormalDeployment =>
        from threads in Gen.Elements(1, 2, 4, 8)
        from allocations in Gen.Choose(1, 16)
        from memoryMb in Gen.Choose(240, 8 * 1024)
        select new PlannerDeployment("new", memoryMb * MiB, allocations, threads, new Dictionary<string, int>());

    public static Arbitrary<T> Arbitrary<T>(Gen<T> gen) => Arb.From(gen);
}
