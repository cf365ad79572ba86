using TrainedModelsOrleans.Grains.Assignment.Planning;
using TrainedModelsOrleans.Grains.Deployments;
using Xunit;
using static TrainedModelsOrleans.Grains.Assignment.Planning.Tests.Cluster;

namespace TrainedModelsOrleans.Grains.Assignment.Planning.Tests;

/// <summary>
/// Scenarios of ES's AssignmentPlannerTests, with the deployment memory given as ES estimates it for a model of that
/// size (240 MB + 2 × model bytes) and nodes sized the same way (ES scaleNodeSize).
/// </summary>
public class AssignmentPlannerTests
{
    private static AssignmentPlan Plan(IReadOnlyList<PlannerNode> nodes, params PlannerDeployment[] deployments)
    {
        var cluster = new Cluster(nodes, deployments);
        var plan = cluster.Plan();
        PlanChecks.HardRules(cluster, plan);
        PlanChecks.NothingFitsAnUnsatisfiedDeployment(cluster, plan);
        return plan;
    }

    [Fact]
    public void Deployment_that_does_not_fit_in_memory_gets_nothing()
    {
        var plan = Plan([new("n_1", Estimate(50), 4)], Deployment("m_1", Estimate(51), 4, 1));
        Assert.Empty(plan.AllocationsByNodeId("m_1"));
    }

    [Fact]
    public void Deployment_whose_threads_exceed_every_node_gets_nothing()
    {
        var plan = Plan([new("n_1", Estimate(100), 4), new("n_2", Estimate(100), 5)], Deployment("m_1", Estimate(1), 1, 6));
        Assert.Empty(plan.AllocationsByNodeId("m_1"));
    }

    [Theory]
    [InlineData(100, 4, 1, 1)]
    [InlineData(1000, 8, 8, 1)]
    [InlineData(10000, 16, 1, 16)]
    public void Deployment_that_fits_on_a_single_node_gets_all_it_asks_for(int modelMb, int cores, int allocations, int threads)
    {
        var plan = Plan([new("n_1", Estimate(modelMb), cores)], Deployment("m_1", Estimate(modelMb), allocations, threads));
        Assert.Equal(On(("n_1", allocations)), plan.AllocationsByNodeId("m_1"));
        Assert.True(plan.IsSatisfied("m_1"));
        Assert.Null(plan.UnsatisfiedReason("m_1"));
    }

    [Fact]
    public void Deployment_that_fits_on_one_of_two_nodes_stays_on_one()
    {
        var plan = Plan([new("n_1", Estimate(100), 4), new("n_2", Estimate(100), 4)], Deployment("m_1", Estimate(100), 4, 1));
        Assert.Equal([4], plan.AllocationsByNodeId("m_1").Values);
    }

    [Fact]
    public void More_allocations_than_cores_with_one_thread_fill_every_node()
    {
        var deployment = Deployment("m_1", Estimate(30), 10, 1);
        Assert.Equal(On(("n_1", 4)), Plan([new("n_1", Estimate(100), 4)], deployment).AllocationsByNodeId("m_1"));
        Assert.Equal(On(("n_1", 4), ("n_2", 2)),
            Plan([new("n_1", Estimate(100), 4), new("n_2", Estimate(100), 2)], deployment).AllocationsByNodeId("m_1"));
        Assert.Equal(On(("n_1", 4), ("n_2", 2), ("n_3", 3)),
            Plan([new("n_1", Estimate(100), 4), new("n_2", Estimate(100), 2), new("n_3", Estimate(100), 3)], deployment).AllocationsByNodeId("m_1"));
    }

    [Fact]
    public void More_allocations_than_cores_with_three_threads_use_whole_allocations_only()
    {
        var deployment = Deployment("m_1", Estimate(30), 10, 3);
        Assert.Equal(On(("n_1", 1)), Plan([new("n_1", Estimate(100), 4)], deployment).AllocationsByNodeId("m_1"));
        Assert.Equal(On(("n_1", 1), ("n_2", 2)),
            Plan([new("n_1", Estimate(100), 4), new("n_2", Estimate(100), 8)], deployment).AllocationsByNodeId("m_1"));
        Assert.Equal(On(("n_1", 1), ("n_2", 2), ("n_3", 5)),
            Plan([new("n_1", Estimate(100), 4), new("n_2", Estimate(100), 7), new("n_3", Estimate(100), 15)], deployment).AllocationsByNodeId("m_1"));
    }

    [Fact]
    public void Several_deployments_find_the_only_solution()
    {
        // Memory here is the deployment's full requirement (ES 8.8's form of this test): two deployments fill a node.
        var plan = Plan(
            [new("n_1", 100 * MiB, 7), new("n_2", 100 * MiB, 7), new("n_3", 100 * MiB, 2), new("n_4", 100 * MiB, 2)],
            Deployment("m_1", 50 * MiB, 2, 4),
            Deployment("m_2", 50 * MiB, 2, 3),
            Deployment("m_3", 50 * MiB, 1, 2),
            Deployment("m_4", 50 * MiB, 2, 1));

        Assert.Equal(On(("n_1", 1), ("n_2", 1)), plan.AllocationsByNodeId("m_1"));
        Assert.Equal(On(("n_1", 1), ("n_2", 1)), plan.AllocationsByNodeId("m_2"));
        var m3 = Assert.Single(plan.AllocationsByNodeId("m_3"));
        var m4 = Assert.Single(plan.AllocationsByNodeId("m_4"));
        Assert.Equal(1, m3.Value);
        Assert.Equal(2, m4.Value);
        Assert.Equal(["n_3", "n_4"], new[] { m3.Key, m4.Key }.Order());
    }

    [Fact]
    public void Previous_assignment_on_a_full_node_is_kept()
    {
        var plan = Plan([new("n_1", Estimate(100), 4)], Deployment("m_1", Estimate(30), 4, 1, On(("n_1", 4))));
        Assert.Equal(On(("n_1", 4)), plan.AllocationsByNodeId("m_1"));
    }

    [Fact]
    public void Single_thread_deployments_use_every_core()
    {
        var nodes = new PlannerNode[]
        {
            new("n_1", 18 * GiB, 8), new("n_2", 18 * GiB, 8), new("n_3", 18 * GiB, 8), new("n_4", 18 * GiB, 8),
            new("n_5", 64 * GiB, 16), new("n_6", 32 * GiB, 16),
        };
        var deployments = new[]
        {
            Deployment("m_1", Estimate(4 * 1024), 10, 1, On(("n_1", 5))),
            Deployment("m_2", Estimate(2 * 1024), 3, 1, On(("n_3", 2))),
            Deployment("m_3", Estimate(3 * 1024), 3, 1),
            Deployment("m_4", Estimate(1024), 4, 1, On(("n_3", 2))),
            Deployment("m_5", Estimate(6 * 1024), 2, 1),
            Deployment("m_6", Estimate(1024), 12, 1),
            Deployment("m_7", Estimate(512), 12, 1, On(("n_2", 6))),
            Deployment("m_8", Estimate(2 * 1024), 4, 1),
            Deployment("m_9", Estimate(1024), 4, 1),
            Deployment("m_10", Estimate(7 * 1024), 7, 1),
            Deployment("m_11", Estimate(2 * 1024), 3, 1),
            Deployment("m_12", Estimate(1024), 10, 1),
        };
        var plan = Plan(nodes, deployments);

        Assert.Equal(64, deployments.Sum(d => plan.TotalAllocations(d.Id)));
        foreach (var d in deployments) PlanChecks.CurrentAllocationsAreSatisfied(d, plan);
    }

    [Fact]
    public void Larger_deployment_keeps_its_nodes_and_the_smaller_new_one_takes_the_free_node()
    {
        PlannerNode[] nodes = [new("n_1", Estimate(2048), 2), new("n_2", Estimate(2048), 2), new("n_3", Estimate(2048), 2)];
        var plan = Plan(nodes,
            Deployment("m_1", Estimate(1200), 3, 1, On(("n_1", 2), ("n_2", 1))),
            Deployment("m_2", Estimate(1100), 2, 1));

        Assert.Equal(On(("n_1", 2), ("n_2", 1)), plan.AllocationsByNodeId("m_1"));
        Assert.Equal(On(("n_3", 2)), plan.AllocationsByNodeId("m_2"));
    }

    [Fact]
    public void Deployment_allocated_before_gets_an_allocation_again_even_at_the_cost_of_moving_another()
    {
        PlannerNode[] nodes = [new("n_1", Estimate(4096), 2), new("n_2", Estimate(4096), 2)];
        var plan = Plan(nodes,
            Deployment("m_1", Estimate(1200), 3, 1, On(("n_1", 2), ("n_2", 1)), maxAssigned: 3),
            Deployment("m_2", Estimate(1100), 1, 2, maxAssigned: 1));

        // ES step 4c: m_2 (2 threads) only fits on a whole node, so m_1 is packed onto the other one.
        var m1 = Assert.Single(plan.AllocationsByNodeId("m_1"));
        var m2 = Assert.Single(plan.AllocationsByNodeId("m_2"));
        Assert.Equal(2, m1.Value);
        Assert.Equal(1, m2.Value);
        Assert.NotEqual(m1.Key, m2.Key);
    }

    [Fact]
    public void When_not_all_previously_allocated_deployments_fit_one_of_them_keeps_running()
    {
        var plan = Plan([new("n_1", Estimate(2048), 2)],
            Deployment("m_1", Estimate(1200), 1, 1, maxAssigned: 1),
            Deployment("m_2", Estimate(1100), 1, 1, maxAssigned: 1));

        Assert.Equal(1, plan.TotalAllocations("m_1") + plan.TotalAllocations("m_2"));
    }

    [Fact]
    public void Growing_cluster_assigns_in_order_and_never_exceeds_memory_when_a_node_leaves()
    {
        // Memory here is the deployment's full requirement, as in ES's resize scenarios.
        PlannerNode n1 = new("n_1", 1200 * MiB, 2), n2 = new("n_2", 1200 * MiB, 2);
        var m1 = Deployment("m_1", 800 * MiB, 2, 1);
        var m2 = Deployment("m_2", 800 * MiB, 1, 1);
        var m3 = Deployment("m_3", 250 * MiB, 4, 1);

        var cluster = new Cluster([n1, n2], [m1]);
        var plan = cluster.Plan();
        Assert.Equal(On(("n_1", 2)), plan.AllocationsByNodeId("m_1"));

        cluster = cluster.WithCurrentFrom(plan) with { Deployments = [.. cluster.WithCurrentFrom(plan).Deployments, m2] };
        plan = cluster.Plan();
        Assert.Equal(On(("n_1", 2)), plan.AllocationsByNodeId("m_1"));
        Assert.Equal(On(("n_2", 1)), plan.AllocationsByNodeId("m_2"));

        cluster = cluster.WithCurrentFrom(plan) with { Deployments = [.. cluster.WithCurrentFrom(plan).Deployments, m3] };
        plan = cluster.Plan();
        Assert.Equal(On(("n_1", 2)), plan.AllocationsByNodeId("m_1"));
        Assert.Equal(On(("n_2", 1)), plan.AllocationsByNodeId("m_2"));
        Assert.Equal(On(("n_2", 1)), plan.AllocationsByNodeId("m_3"));

        var shrunk = cluster.WithCurrentFrom(plan) with { Nodes = [n1] };
        var afterLoss = shrunk.Plan();
        PlanChecks.HardRules(shrunk, afterLoss);
        Assert.True(afterLoss.RemainingMemoryBytes("n_1") >= 0);
    }

    [Fact]
    public void Every_deployment_keeps_at_least_one_allocation_through_a_cluster_resize()
    {
        PlannerNode n1 = new("n_1", 1200 * MiB, 2), n2 = new("n_2", 1200 * MiB, 2);
        PlannerNode n3 = new("n_3", 2400 * MiB, 2), n4 = new("n_4", 2400 * MiB, 2);
        var cluster = new Cluster([n1, n2], [Deployment("m_1", 800 * MiB, 2, 1)]);
        foreach (var next in new[] { Deployment("m_2", 800 * MiB, 1, 1), Deployment("m_3", 250 * MiB, 4, 1) })
        {
            var running = cluster.WithCurrentFrom(cluster.Plan());
            cluster = running with { Deployments = [.. running.Deployments, next] };
        }

        foreach (var nodes in new[] { new[] { n1 }, [n1, n3], [n1, n3, n4], [n3, n4] })
            cluster = cluster.WithCurrentFrom(cluster.Plan()) with { Nodes = nodes };
        var plan = cluster.Plan();

        PlanChecks.HardRules(cluster, plan);
        Assert.All(["m_1", "m_2", "m_3"], id => Assert.True(plan.TotalAllocations(id) >= 1, id));
        Assert.Equal(0, plan.RemainingCores("n_3") + plan.RemainingCores("n_4"));
    }

    [Fact]
    public void Nothing_moves_when_a_new_deployment_fits_around_the_current_allocations()
    {
        // Keeping one allocation per node would let the new deployment take n_1's freed core (the tighter fit) and push
        // one of m_1's allocations to n_2; keeping everything also satisfies both, so nothing moves.
        var plan = Plan([new("n_1", 4 * GiB, 2), new("n_2", 4 * GiB, 2)],
            Deployment("m_1", 300 * MiB, 2, 1, On(("n_1", 2)), maxAssigned: 2),
            Deployment("m_2", 1000 * MiB, 1, 1));

        Assert.Equal(On(("n_1", 2)), plan.AllocationsByNodeId("m_1"));
        Assert.Equal(On(("n_2", 1)), plan.AllocationsByNodeId("m_2"));
    }

    [Fact]
    public void Allocations_beyond_the_request_are_dropped_the_way_a_decrease_would()
    {
        var plan = Plan([new("n_1", 4 * GiB, 8), new("n_2", 4 * GiB, 8), new("n_3", 4 * GiB, 8)],
            Deployment("m_1", 300 * MiB, 3, 1, On(("n_1", 3), ("n_2", 2), ("n_3", 1)), maxAssigned: 6));

        Assert.Equal(On(("n_1", 3)), plan.AllocationsByNodeId("m_1"));
    }

    [Fact]
    public void Current_allocations_on_a_node_that_shrank_are_cut_to_what_fits_and_each_deployment_keeps_one()
    {
        // The node now has 4 cores: a's 3 × 2 threads and b's 2 × 1 no longer fit together. Keeping what fits in id order
        // would leave b with nothing; ES step 4c prefers the plan in which both still run.
        var plan = Plan([new("n_1", 4 * GiB, 4)],
            Deployment("a", 1 * GiB, 3, 2, On(("n_1", 3)), maxAssigned: 3),
            Deployment("b", 1 * GiB, 2, 1, On(("n_1", 2), ("gone", 5)), maxAssigned: 7));

        Assert.Equal(On(("n_1", 1)), plan.AllocationsByNodeId("a"));
        Assert.Equal(On(("n_1", 2)), plan.AllocationsByNodeId("b"));
        Assert.Equal(0, plan.RemainingCores("n_1"));
    }

    [Fact]
    public void Two_deployments_on_a_shrunk_node_each_keep_one_allocation()
    {
        var plan = Plan([new("n_1", 4 * GiB, 4)],
            Deployment("a", 1 * GiB, 3, 2, On(("n_1", 3)), maxAssigned: 3),
            Deployment("b", 1 * GiB, 2, 2, On(("n_1", 2)), maxAssigned: 2));

        // Only two 2-thread allocations fit; b cannot keep one unless a gives one up, and 4c's single allocations
        // (a first, the larger) leave exactly that.
        Assert.Equal(On(("n_1", 1)), plan.AllocationsByNodeId("a"));
        Assert.Equal(On(("n_1", 1)), plan.AllocationsByNodeId("b"));
    }

    [Fact]
    public void Low_priority_deployment_starts_on_a_node_whose_cores_are_all_taken()
    {
        var plan = Plan([new("node-1", 1 * GiB, 2)],
            Deployment("normal", Estimate(100), 2, 1),
            Deployment("low", Estimate(100), 1, 1, priority: Priority.Low));

        Assert.Equal(On(("node-1", 2)), plan.AllocationsByNodeId("normal"));
        Assert.Equal(On(("node-1", 1)), plan.AllocationsByNodeId("low"));
        Assert.Equal(0, plan.RemainingCores("node-1"));
        Assert.Equal(1, plan.LowPriorityThreads("node-1"));
    }

    [Fact]
    public void Low_priority_deployment_gets_only_the_memory_normal_ones_leave()
    {
        var plan = Plan([new("node-1", 1 * GiB, 7)],
            Deployment("model-1", Estimate(250), 1, 1, priority: Priority.Low),
            Deployment("model-2", Estimate(300), 1, 1));

        Assert.Empty(plan.AllocationsByNodeId("model-1"));
        Assert.Equal(On(("node-1", 1)), plan.AllocationsByNodeId("model-2"));
        Assert.StartsWith("Could not assign (more) allocations on node [node-1]. Reason: This node has insufficient available memory.",
            plan.UnsatisfiedReason("model-1"));
    }

    [Fact]
    public void Low_priority_deployments_pack_onto_the_same_node()
    {
        var plan = Plan([new("node-1", 1 * GiB, 1), new("node-2", 1 * GiB, 1)],
            Deployment("model-1", Estimate(100), 1, 1, priority: Priority.Low),
            Deployment("model-2", Estimate(100), 1, 1, priority: Priority.Low));

        Assert.Equal(On(("node-1", 1)), plan.AllocationsByNodeId("model-1"));
        Assert.Equal(On(("node-1", 1)), plan.AllocationsByNodeId("model-2"));
    }

    [Fact]
    public void Normal_deployment_evicts_a_low_priority_one_that_no_longer_fits()
    {
        var plan = Plan([new("node-1", 1 * GiB, 1)],
            Deployment("model-1", Estimate(300), 1, 1, On(("node-1", 1)), maxAssigned: 1, priority: Priority.Low),
            Deployment("model-2", Estimate(300), 1, 1));

        Assert.Empty(plan.AllocationsByNodeId("model-1"));
        Assert.Equal(On(("node-1", 1)), plan.AllocationsByNodeId("model-2"));
    }

    [Fact]
    public void Low_priority_deployment_moves_to_the_node_the_normal_one_does_not_use()
    {
        var plan = Plan([new("node-1", 1 * GiB, 1), new("node-2", 1 * GiB, 1)],
            Deployment("model-1", Estimate(300), 1, 1, priority: Priority.Low),
            Deployment("model-2", Estimate(300), 1, 1, On(("node-1", 1)), maxAssigned: 1));

        Assert.Equal(On(("node-1", 1)), plan.AllocationsByNodeId("model-2"));
        Assert.Equal(On(("node-2", 1)), plan.AllocationsByNodeId("model-1"));
    }

    [Fact]
    public void At_most_100_low_priority_deployments_run_on_a_node()
    {
        var lows = Enumerable.Range(0, 101).Select(i => Deployment($"low-{i:000}", MiB, 1, 1, priority: Priority.Low)).ToArray();
        var plan = Plan([new("node-1", GiB, 1)], lows);

        Assert.Equal(AssignmentPlanner.MaxLowPriorityModelsPerNode, lows.Count(d => plan.IsSatisfied(d.Id)));
        Assert.Equal(1, plan.RemainingCores("node-1"));
    }

    [Fact]
    public void Duplicate_ids_are_refused()
    {
        Assert.Throws<ArgumentException>(() => AssignmentPlanner.ComputePlan([new("n", GiB, 1), new("n", GiB, 2)], []));
        Assert.Throws<ArgumentException>(() => AssignmentPlanner.ComputePlan([new("n", GiB, 1)], [Deployment("d", MiB, 1, 1), Deployment("d", MiB, 1, 1)]));
    }

    [Fact]
    public void Asking_about_a_deployment_outside_the_plan_fails_but_an_unknown_node_has_nothing_left()
    {
        var plan = Plan([new("n", GiB, 1)], Deployment("d", MiB, 1, 1));
        Assert.Throws<KeyNotFoundException>(() => plan.TotalAllocations("other"));
        Assert.Equal(0, plan.RemainingCores("gone"));
        Assert.Equal(0, plan.RemainingMemoryBytes("gone"));
    }

    [Fact]
    public void Random_clusters_use_at_least_95_percent_of_the_usable_cores_on_average()
    {
        // ES testRandomBenchmark: 1 + 3 × scale nodes, load × (1 + 8 × scale) deployments.
        var random = new Random(42);
        var utilisation = new List<double>();
        for (var round = 0; round < 100; round++)
        {
            var scale = random.Next(0, 11);
            var load = 0.1 + random.NextDouble() * 0.9;
            long[] memoryPerCore = [GiB / 2, GiB, 2 * GiB, 3 * GiB, 4 * GiB];
            var nodes = Enumerable.Range(0, 1 + 3 * scale).Select(i =>
            {
                var cores = random.Next(2, 33);
                return new PlannerNode($"n_{i}", Estimate(cores * memoryPerCore[random.Next(memoryPerCore.Length)] / MiB), cores);
            }).ToList();
            var deployments = Enumerable.Range(0, (int)Math.Max(2, Math.Round(load * (1 + 8 * scale)))).Select(i =>
                Deployment($"m_{i}", Estimate(random.NextInt64(100, 10 * 1024)), random.Next(1, 33), random.Next(1, 5))).ToList();

            var plan = AssignmentPlanner.ComputePlan(nodes, deployments);
            var used = deployments.Sum(d => plan.TotalAllocations(d.Id) * d.ThreadsPerAllocation);
            var usable = Math.Min(nodes.Sum(n => n.Cores), deployments.Sum(d => d.Allocations * d.ThreadsPerAllocation));
            if (used > 0) utilisation.Add((double)used / usable);
        }
        Assert.True(utilisation.Average() >= 0.95, $"average core utilisation {utilisation.Average():P1}");
    }
}
