using TrainedModelsOrleans.Grains.Assignment.Planning;
using Xunit;
using static TrainedModelsOrleans.Grains.Assignment.Planning.Tests.Cluster;

namespace TrainedModelsOrleans.Grains.Assignment.Planning.Tests;

/// <summary>ES AllocationReducerTests, one zone.</summary>
public class AllocationReducerTests
{
    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void Target_not_below_the_current_total_is_refused(int target)
    {
        var error = Assert.Throws<ArgumentException>(() => AllocationReducer.Reduce(On(("n", 2)), target));
        Assert.StartsWith("request to reduce allocations is greater than or equal to the existing target number of allocations", error.Message);
    }

    [Fact]
    public void One_route_is_reduced_by_one()
    {
        Assert.Equal(On(("n", 1)), AllocationReducer.Reduce(On(("n", 2)), 1));
    }

    [Fact]
    public void One_route_is_reduced_by_many()
    {
        Assert.Equal(On(("n", 2)), AllocationReducer.Reduce(On(("n", 5)), 2));
    }

    [Fact]
    public void Small_routes_are_removed_whole()
    {
        Assert.Equal(On(("n_1", 3)), AllocationReducer.Reduce(On(("n_1", 3), ("n_2", 2), ("n_3", 1)), 3));
    }

    [Fact]
    public void Routes_larger_than_the_surplus_lose_one_allocation()
    {
        var reduced = AllocationReducer.Reduce(On(("n_1", 2), ("n_2", 2), ("n_3", 2)), 5);
        Assert.Equal(3, reduced.Count);
        Assert.Equal(5, reduced.Values.Sum());
        Assert.Equal(On(("n_1", 1), ("n_2", 2), ("n_3", 2)), reduced);
    }

    [Fact]
    public void Equal_single_allocation_routes_go_in_node_order()
    {
        Assert.Equal(On(("n_2", 1)), AllocationReducer.Reduce(On(("n_1", 1), ("n_2", 1)), 1));
    }

    [Fact]
    public void Reducing_to_zero_removes_every_route()
    {
        Assert.Empty(AllocationReducer.Reduce(On(("n_1", 4), ("n_2", 1)), 0));
    }

    [Fact]
    public void Result_is_ordered_by_node_id()
    {
        Assert.Equal(["a", "b", "c"], AllocationReducer.Reduce(On(("c", 3), ("a", 3), ("b", 3)), 8).Keys);
    }
}
