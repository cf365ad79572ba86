using System.Diagnostics;
using TrainedModelsOrleans.Grains.Assignment.Planning;
using TrainedModelsOrleans.Grains.Deployments;

namespace TrainedModelsOrleans.Bench;

/// <summary>
/// Time of one AssignmentPlanner.ComputePlan: from scratch, and re-planning a running cluster after one more deployment
/// starts or a node leaves, on clusters that fit and on clusters asked for three times their cores.
/// </summary>
public static class PlannerBenchmark
{
    private const int Runs = 5;
    private const long MiB = 1024 * 1024;

    public static void Run(TextWriter output)
    {
        var table = new ResultTable($"Assignment planner ({Environment.ProcessorCount} cores, {Runs} runs per row)")
            .Columns("scenario", "median ms", "max ms", "cores used", "satisfied");

        foreach (var (nodes, deployments) in new[] { (100, 1000), (10, 100) })
        {
            foreach (var load in new[] { 0.8, 3.0 })
            {
                var label = $"{nodes} nodes × {deployments:N0} deployments, demand {load:0.#}× cores";
                var cluster = Cluster(nodes, deployments, load, seed: nodes * 7919 + deployments);

                var fresh = Measure(() => AssignmentPlanner.ComputePlan(cluster.Nodes, cluster.Deployments));
                table.Row($"{label}: from scratch", fresh.Median, fresh.Max, fresh.CoresUsed, fresh.Satisfied);

                var running = WithCurrent(cluster, AssignmentPlanner.ComputePlan(cluster.Nodes, cluster.Deployments));
                var grown = running.Deployments.Append(new PlannerDeployment("zz-new", 1024 * MiB, 4, 2, new Dictionary<string, int>())).ToList();
                var added = Measure(() => AssignmentPlanner.ComputePlan(running.Nodes, grown));
                table.Row($"{label}: one more deployment", added.Median, added.Max, added.CoresUsed, added.Satisfied);

                var fewer = running.Nodes.Skip(1).ToList();
                var lost = Measure(() => AssignmentPlanner.ComputePlan(fewer, running.Deployments));
                table.Row($"{label}: one node left", lost.Median, lost.Max, lost.CoresUsed, lost.Satisfied);
            }
        }

        table.Print(output);
        output.WriteLine();
        output.WriteLine("Goal: 100 nodes × 1,000 deployments planned in under 1 s on a 2-core machine.");
    }

    private static (double Median, double Max, string CoresUsed, string Satisfied) Measure(Func<AssignmentPlan> plan)
    {
        var result = plan(); // warm-up (JIT)
        var times = new double[Runs];
        for (var i = 0; i < Runs; i++)
        {
            var started = Stopwatch.GetTimestamp();
            result = plan();
            times[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        }
        Array.Sort(times);
        var satisfied = result.Deployments.Count(d => result.IsSatisfied(d.Id));
        var cores = result.Nodes.Sum(n => n.Cores);
        var used = cores - result.Nodes.Sum(n => result.RemainingCores(n.Id));
        return (times[Runs / 2], times[^1], $"{used}/{cores}", $"{satisfied}/{result.Deployments.Count}");
    }

    /// <summary>
    /// Nodes of 16–48 cores and 64–128 GiB; deployments of 240 MB–1.5 GB (one in 20 low priority) asking for about
    /// <paramref name="load"/> × the cores, so that cores, not memory, are what runs out.
    /// </summary>
    private static (List<PlannerNode> Nodes, List<PlannerDeployment> Deployments) Cluster(int nodeCount, int deploymentCount, double load, int seed)
    {
        var random = new Random(seed);
        var nodes = Enumerable.Range(0, nodeCount)
            .Select(i => new PlannerNode($"node-{i:000}", random.Next(64, 129) * 1024 * MiB, random.Next(16, 49)))
            .ToList();
        var threadsWanted = nodes.Sum(n => n.Cores) * load;
        int[] threadChoices = [1, 1, 1, 2, 2, 4];
        var deployments = new List<PlannerDeployment>();
        for (var i = 0; i < deploymentCount; i++)
        {
            var threads = threadChoices[random.Next(threadChoices.Length)];
            var meanAllocations = threadsWanted / deploymentCount / threads;
            var allocations = Math.Max(1, (int)Math.Round(meanAllocations * (0.5 + random.NextDouble())));
            var priority = random.Next(20) == 0 ? Priority.Low : Priority.Normal;
            deployments.Add(priority == Priority.Low
                ? new PlannerDeployment($"deployment-{i:0000}", random.Next(240, 1024) * MiB, 1, 1, new Dictionary<string, int>(), 0, Priority.Low)
                : new PlannerDeployment($"deployment-{i:0000}", random.Next(240, 1536) * MiB, allocations, threads, new Dictionary<string, int>()));
        }
        return (nodes, deployments);
    }

    private static (List<PlannerNode> Nodes, List<PlannerDeployment> Deployments) WithCurrent(
        (List<PlannerNode> Nodes, List<PlannerDeployment> Deployments) cluster, AssignmentPlan plan) =>
        (cluster.Nodes, cluster.Deployments.Select(d => d with
        {
            CurrentAllocationsByNodeId = plan.AllocationsByNodeId(d.Id),
            MaxAssignedAllocations = plan.TotalAllocations(d.Id),
        }).ToList());
}
