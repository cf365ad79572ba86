using TrainedModelsOrleans.Grains.Assignment.Planning;
using TrainedModelsOrleans.Grains.Deployments;
using Xunit;

namespace TrainedModelsOrleans.Grains.Assignment.Planning.Tests;

/// <summary>What every plan must satisfy, recomputed from the input rather than taken from the plan's own bookkeeping.</summary>
public static class PlanChecks
{
    public static void HardRules(Cluster cluster, AssignmentPlan plan)
    {
        var nodeIds = cluster.Nodes.Select(n => n.Id).ToHashSet();
        foreach (var d in cluster.Deployments)
        {
            var routes = plan.AllocationsByNodeId(d.Id);
            Assert.All(routes, r => Assert.Contains(r.Key, nodeIds));
            Assert.All(routes, r => Assert.True(r.Value > 0));
            Assert.True(routes.Values.Sum() <= d.Allocations, $"[{d.Id}] got {routes.Values.Sum()} > requested {d.Allocations}");
            Assert.Equal(routes.Values.Sum(), plan.TotalAllocations(d.Id));
            Assert.Equal(routes.Values.Sum() >= d.Allocations, plan.IsSatisfied(d.Id));
        }

        foreach (var node in cluster.Nodes)
        {
            var here = cluster.Deployments.Where(d => plan.AllocationsOn(d.Id, node.Id) > 0).ToList();
            var normalThreads = here.Where(d => d.Priority == Priority.Normal)
                .Sum(d => plan.AllocationsOn(d.Id, node.Id) * d.ThreadsPerAllocation);
            var lowThreads = here.Where(d => d.Priority == Priority.Low)
                .Sum(d => plan.AllocationsOn(d.Id, node.Id) * d.ThreadsPerAllocation);
            var memory = here.Sum(d => d.MemoryBytes);

            Assert.True(normalThreads <= node.Cores, $"[{node.Id}] normal threads {normalThreads} > cores {node.Cores}");
            Assert.True(memory <= node.AvailableMemoryBytes, $"[{node.Id}] memory {memory} > available {node.AvailableMemoryBytes}");
            Assert.True(lowThreads <= AssignmentPlanner.MaxLowPriorityModelsPerNode);
            Assert.Equal(node.Cores - normalThreads, plan.RemainingCores(node.Id));
            Assert.Equal(node.AvailableMemoryBytes - memory, plan.RemainingMemoryBytes(node.Id));
            Assert.Equal(lowThreads, plan.LowPriorityThreads(node.Id));
        }
    }

    /// <summary>
    /// No spare capacity is left unused: for every unsatisfied deployment, no node has both the cores for one more
    /// allocation (its own 100 for low priority) and room for its memory (or already holds it).
    /// </summary>
    public static void NothingFitsAnUnsatisfiedDeployment(Cluster cluster, AssignmentPlan plan)
    {
        foreach (var d in cluster.Deployments.Where(d => !plan.IsSatisfied(d.Id)))
        {
            foreach (var node in cluster.Nodes)
            {
                var freeCores = d.Priority == Priority.Low
                    ? AssignmentPlanner.MaxLowPriorityModelsPerNode - plan.LowPriorityThreads(node.Id)
                    : plan.RemainingCores(node.Id);
                var memoryRoom = plan.AllocationsOn(d.Id, node.Id) > 0 || plan.RemainingMemoryBytes(node.Id) >= d.MemoryBytes;
                Assert.False(freeCores >= d.ThreadsPerAllocation && memoryRoom,
                    $"[{d.Id}] is unsatisfied ({plan.TotalAllocations(d.Id)}/{d.Allocations}) but node [{node.Id}] has {freeCores} free cores and memory room");
            }

            var reason = plan.UnsatisfiedReason(d.Id);
            if (cluster.Nodes.Count == 0)
                Assert.Equal("No ML nodes exist in the cluster", reason);
            else if (d.Priority == Priority.Normal)
                Assert.Equal(cluster.Nodes.Count, reason!.Split('|').Length);
        }
    }

    public static void SamePlan(Cluster cluster, AssignmentPlan expected, AssignmentPlan actual)
    {
        foreach (var d in cluster.Deployments)
            Assert.Equal(expected.AllocationsByNodeId(d.Id).ToList(), actual.AllocationsByNodeId(d.Id).ToList());
        foreach (var n in cluster.Nodes)
        {
            Assert.Equal(expected.RemainingCores(n.Id), actual.RemainingCores(n.Id));
            Assert.Equal(expected.RemainingMemoryBytes(n.Id), actual.RemainingMemoryBytes(n.Id));
        }
    }

    /// <summary>ES assertPreviousAssignmentsAreSatisfied: every node it runs on keeps an allocation, and the total does not drop.</summary>
    public static void CurrentAllocationsAreSatisfied(PlannerDeployment d, AssignmentPlan plan)
    {
        foreach (var (node, _) in d.CurrentAllocationsByNodeId)
            Assert.True(plan.AllocationsOn(d.Id, node) >= 1, $"[{d.Id}] lost its allocation on [{node}]");
        Assert.True(plan.TotalAllocations(d.Id) >= d.CurrentAllocations, $"[{d.Id}] has fewer allocations than before");
    }
}
