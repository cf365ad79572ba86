using FsCheck;
using FsCheck.Fluent;
using TrainedModelsOrleans.Grains.Assignment.Planning;
using TrainedModelsOrleans.Grains.Deployments;
using Xunit;

namespace TrainedModelsOrleans.Grains.Assignment.Planning.Tests;

/// <summary>
/// Properties over generated clusters (0–20 nodes, 0–50 deployments, current allocations valid or not). Each test runs a
/// bounded number of cases from a fixed seed (see <see cref="ClusterGenerator.Config"/>).
/// </summary>
public class AssignmentPlannerPropertyTests
{
    [Fact]
    public void Hard_rules_hold_for_any_cluster_and_any_current_allocations()
    {
        Check.One(ClusterGenerator.Config(400), Prop.ForAll(ClusterGenerator.Arbitrary(ClusterGenerator.Clusters), (Cluster cluster) =>
        {
            PlanChecks.HardRules(cluster, cluster.Plan());
        }));
    }

    [Fact]
    public void No_unsatisfied_deployment_leaves_a_node_with_room_for_one_more_allocation()
    {
        Check.One(ClusterGenerator.Config(400), Prop.ForAll(ClusterGenerator.Arbitrary(ClusterGenerator.Clusters), (Cluster cluster) =>
        {
            PlanChecks.NothingFitsAnUnsatisfiedDeployment(cluster, cluster.Plan());
        }));
    }

    [Fact]
    public void Same_input_in_any_order_gives_the_same_plan()
    {
        var gen = from cluster in ClusterGenerator.Clusters
                  from seed in Gen.Choose(0, int.MaxValue)
                  select (cluster, seed);
        Check.One(ClusterGenerator.Config(300), Prop.ForAll(ClusterGenerator.Arbitrary(gen), ((Cluster Cluster, int Seed) input) =>
        {
            var (cluster, seed) = input;
            var random = new Random(seed);
            var shuffled = new Cluster(
                cluster.Nodes.OrderBy(_ => random.Next()).ToList(),
                cluster.Deployments.OrderBy(_ => random.Next()).ToList());
            var plan = cluster.Plan();
            PlanChecks.SamePlan(cluster, plan, cluster.Plan());
            PlanChecks.SamePlan(cluster, plan, shuffled.Plan());
        }));
    }

    [Fact]
    public void Replanning_a_satisfied_plan_changes_nothing()
    {
        Check.One(ClusterGenerator.Config(300), Prop.ForAll(ClusterGenerator.Arbitrary(ClusterGenerator.FreshClusters), (Cluster cluster) =>
        {
            var plan = cluster.Plan();
            var again = cluster.WithCurrentFrom(plan);
            var replanned = again.Plan();
            PlanChecks.HardRules(again, replanned);
            foreach (var d in again.Deployments.Where(d => d.Priority == Priority.Normal))
                PlanChecks.CurrentAllocationsAreSatisfied(d, replanned);
            if (plan.IsSatisfyingAll) PlanChecks.SamePlan(again, plan, replanned);
        }));
    }

    [Fact]
    public void Adding_a_deployment_keeps_current_allocations_and_moves_none_when_it_fits_around_them()
    {
        var gen = from cluster in ClusterGenerator.FreshClusters
                  from added in ClusterGenerator.NewNormalDeployment
                  select (cluster, added);
        Check.One(ClusterGenerator.Config(300), Prop.ForAll(ClusterGenerator.Arbitrary(gen), ((Cluster Cluster, PlannerDeployment Added) input) =>
        {
            var before = input.Cluster.Plan();
            var running = input.Cluster.WithCurrentFrom(before);
            var grown = running with { Deployments = [.. running.Deployments, input.Added] };
            var plan = grown.Plan();

            PlanChecks.HardRules(grown, plan);
            PlanChecks.NothingFitsAnUnsatisfiedDeployment(grown, plan);
            var normal = running.Deployments.Where(d => d.Priority == Priority.Normal).ToList();
            foreach (var d in normal)
                PlanChecks.CurrentAllocationsAreSatisfied(d, plan);

            // Everything fits around the current allocations: nothing normal moves and the new deployment is satisfied.
            var roomForAdded = running.Nodes.Sum(n =>
                before.RemainingMemoryBytes(n.Id) + LowMemory(running, before, n.Id) >= input.Added.MemoryBytes
                    ? before.RemainingCores(n.Id) / input.Added.ThreadsPerAllocation
                    : 0);
            if (normal.All(d => before.IsSatisfied(d.Id)) && roomForAdded >= input.Added.Allocations)
            {
                Assert.True(plan.IsSatisfied(input.Added.Id));
                foreach (var d in normal)
                    Assert.Equal(d.CurrentAllocationsByNodeId.ToList(), plan.AllocationsByNodeId(d.Id).ToList());
            }
        }));
    }

    [Fact]
    public void A_deployment_that_ran_before_keeps_an_allocation_when_nodes_shrink_if_one_fits_alone()
    {
        // Every node loses cores and memory; one deployment that ran before competes with all the others started anew.
        // ES step 4c: it must not drop to zero when one allocation of it fits on some node on its own.
        var gen = from cluster in ClusterGenerator.FreshClusters
                  from percent in Gen.Choose(20, 90)
                  from pick in Gen.Choose(0, 1000)
                  select (cluster, percent, pick);
        Check.One(ClusterGenerator.Config(300), Prop.ForAll(ClusterGenerator.Arbitrary(gen), ((Cluster Cluster, int Percent, int Pick) input) =>
        {
            var running = input.Cluster.WithCurrentFrom(input.Cluster.Plan());
            var ranBefore = running.Deployments.Where(d => d.Priority == Priority.Normal && d.WasAllocatedBefore).ToList();
            if (ranBefore.Count == 0) return;
            var kept = ranBefore[input.Pick % ranBefore.Count];
            var scenario = new Cluster(
                running.Nodes.Select(n => n with
                {
                    Cores = Math.Max(1, n.Cores * input.Percent / 100),
                    AvailableMemoryBytes = n.AvailableMemoryBytes * input.Percent / 100,
                }).ToList(),
                running.Deployments.Select(d => d.Id == kept.Id
                    ? d
                    : d with { CurrentAllocationsByNodeId = new Dictionary<string, int>(), MaxAssignedAllocations = 0 }).ToList());

            var plan = scenario.Plan();
            PlanChecks.HardRules(scenario, plan);
            PlanChecks.NothingFitsAnUnsatisfiedDeployment(scenario, plan);
            var fitsAlone = scenario.Nodes.Any(n => n.Cores >= kept.ThreadsPerAllocation && n.AvailableMemoryBytes >= kept.MemoryBytes);
            if (fitsAlone) Assert.True(plan.TotalAllocations(kept.Id) > 0, $"[{kept.Id}] ran before and fits alone, but got nothing");
        }));
    }

    private static long LowMemory(Cluster cluster, AssignmentPlan plan, string nodeId) =>
        cluster.Deployments.Where(d => d.Priority == Priority.Low && plan.AllocationsOn(d.Id, nodeId) > 0).Sum(d => d.MemoryBytes);
}
