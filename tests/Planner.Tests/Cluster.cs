using System.Globalization;
using System.Text;
using TrainedModelsOrleans.Grains.Assignment.Planning;
using TrainedModelsOrleans.Grains.Deployments;

namespace TrainedModelsOrleans.Grains.Assignment.Planning.Tests;

/// <summary>A planner input; prints as C# so that a failing generated case can be pasted into an example test.</summary>
public sealed record Cluster(IReadOnlyList<PlannerNode> Nodes, IReadOnlyList<PlannerDeployment> Deployments)
{
    public const long MiB = 1024 * 1024;
    public const long GiB = 1024 * MiB;

    public AssignmentPlan Plan() => AssignmentPlanner.ComputePlan(Nodes, Deployments);

    /// <summary>ES createModelsFromPlan: the plan's allocations become the current ones, and the largest total so far is kept.</summary>
    public Cluster WithCurrentFrom(AssignmentPlan plan) => this with
    {
        Deployments = Deployments.Select(d => d with
        {
            CurrentAllocationsByNodeId = plan.AllocationsByNodeId(d.Id),
            MaxAssignedAllocations = Math.Max(d.MaxAssignedAllocations, plan.TotalAllocations(d.Id)),
        }).ToList(),
    };

    public override string ToString()
    {
        var text = new StringBuilder("new Cluster(\n  [");
        foreach (var n in Nodes)
            text.Append(CultureInfo.InvariantCulture, $"\n    new(\"{n.Id}\", {n.AvailableMemoryBytes}, {n.Cores}),");
        text.Append("],\n  [");
        foreach (var d in Deployments)
        {
            var current = string.Join(", ", d.CurrentAllocationsByNodeId.Select(e => $"[\"{e.Key}\"] = {e.Value}"));
            text.Append(CultureInfo.InvariantCulture,
                $"\n    new(\"{d.Id}\", {d.MemoryBytes}, {d.Allocations}, {d.ThreadsPerAllocation}, new Dictionary<string, int> {{ {current} }}, {d.MaxAssignedAllocations}, Priority.{d.Priority}),");
        }
        return text.Append("])").ToString();
    }

    /// <summary>ES's memory estimate for a model of that size, and its scaleNodeSize: 240 MB + 2 × model bytes.</summary>
    public static long Estimate(long modelMb) => (240 + 2 * modelMb) * MiB;

    public static Dictionary<string, int> On(params (string Node, int Allocations)[] routes) =>
        routes.ToDictionary(r => r.Node, r => r.Allocations);

    public static PlannerDeployment Deployment(
        string id, long memoryBytes, int allocations, int threads, IReadOnlyDictionary<string, int>? current = null,
        int maxAssigned = 0, Priority priority = Priority.Normal) =>
        new(id, memoryBytes, allocations, threads, current ?? new Dictionary<string, int>(), maxAssigned, priority);
}
