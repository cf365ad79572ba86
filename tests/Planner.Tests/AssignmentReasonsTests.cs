using TrainedModelsOrleans.Grains.Assignment.Planning;
using TrainedModelsOrleans.Grains.Deployments;
using Xunit;
using static TrainedModelsOrleans.Grains.Assignment.Planning.Tests.Cluster;

namespace TrainedModelsOrleans.Grains.Assignment.Planning.Tests;

/// <summary>The reasons texts of ES's TrainedModelAssignmentRebalancer, and ByteSizeValue's rendering.</summary>
public class AssignmentReasonsTests
{
    [Fact]
    public void Without_nodes_the_reason_is_that_no_ml_nodes_exist()
    {
        var plan = AssignmentPlanner.ComputePlan([], [Deployment("model-to-add", Estimate(1), 1, 1)]);
        Assert.Empty(plan.AllocationsByNodeId("model-to-add"));
        Assert.Equal("No ML nodes exist in the cluster", plan.UnsatisfiedReason("model-to-add"));
    }

    [Fact]
    public void Not_enough_processors()
    {
        var plan = AssignmentPlanner.ComputePlan([new("node-1", GiB, 3)], [Deployment("model-to-add", Estimate(0), 1, 4)]);
        Assert.Equal(
            "Could not assign (more) allocations on node [node-1]. Reason: This node has insufficient allocated processors. "
            + "Available processors [3], free processors [3], processors required for each allocation of this model [4]",
            plan.UnsatisfiedReason("model-to-add"));
    }

    [Fact]
    public void Not_enough_memory_on_an_empty_node_counts_the_native_code_overhead()
    {
        var plan = AssignmentPlanner.ComputePlan([new("node-1", GiB, 3)], [Deployment("model-to-add", Estimate(2048), 1, 1)]);
        // 1gb + 30mb free, 240mb + 4gb + 30mb required.
        Assert.Equal(
            "Could not assign (more) allocations on node [node-1]. Reason: This node has insufficient available memory. "
            + "Available memory for ML [1073741824 (1gb)], free memory [1105199104 (1gb)], "
            + "estimated memory required for this model [4578082816 (4.2gb)].",
            plan.UnsatisfiedReason("model-to-add"));
    }

    [Fact]
    public void Not_enough_memory_on_a_node_that_runs_models_shows_its_max_ml_memory_and_no_overhead()
    {
        var plan = AssignmentPlanner.ComputePlan(
            [new PlannerNode("node-1", 1536 * MiB, 8) { MaxMlMemoryBytes = 2 * GiB, HasAssignedModels = true }],
            [Deployment("big", 2 * GiB, 1, 1), Deployment("small", 1 * GiB, 1, 1)]);
        Assert.Equal(On(("node-1", 1)), plan.AllocationsByNodeId("small"));
        Assert.Equal(
            "Could not assign (more) allocations on node [node-1]. Reason: This node has insufficient available memory. "
            + "Available memory for ML [2147483648 (2gb)], free memory [536870912 (512mb)], "
            + "estimated memory required for this model [2147483648 (2gb)].",
            plan.UnsatisfiedReason("big"));
    }

    [Fact]
    public void Problems_on_several_nodes_are_joined_in_node_order()
    {
        var plan = AssignmentPlanner.ComputePlan(
            [new("node-2", 10 * GiB, 3), new("node-1", GiB, 8)],
            [Deployment("model-to-add", Estimate(2048), 1, 4)]);
        var reasons = plan.UnsatisfiedReason("model-to-add")!.Split('|');
        Assert.Equal(2, reasons.Length);
        Assert.StartsWith("Could not assign (more) allocations on node [node-1]. Reason: This node has insufficient available memory.", reasons[0]);
        Assert.StartsWith("Could not assign (more) allocations on node [node-2]. Reason: This node has insufficient allocated processors.", reasons[1]);
    }

    [Fact]
    public void Partly_allocated_deployment_explains_the_nodes_that_are_full()
    {
        var plan = AssignmentPlanner.ComputePlan([new("node-1", GiB, 2)], [Deployment("d", Estimate(10), 3, 1)]);
        Assert.Equal(2, plan.TotalAllocations("d"));
        Assert.Equal(
            "Could not assign (more) allocations on node [node-1]. Reason: This node has insufficient allocated processors. "
            + "Available processors [2], free processors [0], processors required for each allocation of this model [1]",
            plan.UnsatisfiedReason("d"));
    }

    [Fact]
    public void Satisfied_deployment_has_no_reason()
    {
        var plan = AssignmentPlanner.ComputePlan([new("node-1", GiB, 2)], [Deployment("d", Estimate(10), 2, 1)]);
        Assert.Null(plan.UnsatisfiedReason("d"));
    }

    [Theory]
    [InlineData(0L, "0b")]
    [InlineData(1L, "1b")]
    [InlineData(1023L, "1023b")]
    [InlineData(1024L, "1kb")]
    [InlineData(1536L, "1.5kb")]
    [InlineData(1100L, "1kb")]
    [InlineData(251658240L, "240mb")]
    [InlineData(1105199104L, "1gb")]
    [InlineData(1181116006L, "1gb")]
    [InlineData(1181116007L, "1.1gb")]
    [InlineData(4578082816L, "4.2gb")]
    [InlineData(1099511627776L, "1tb")]
    [InlineData(1688849860263936L, "1.5pb")]
    public void Byte_sizes_render_like_elasticsearch(long bytes, string expected)
    {
        Assert.Equal(expected, ByteSizeText.Format(bytes));
    }
}
