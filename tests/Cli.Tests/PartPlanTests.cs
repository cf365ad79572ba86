using TrainedModelsOrleans.Cli.Upload;
using Xunit;

namespace TrainedModelsOrleans.Cli.Tests;

public class PartPlanTests
{
    [Fact]
    public void Default_part_size_is_elands_4_MiB_of_raw_bytes()
    {
        var plan = PartPlan.For(10_000_000);
        Assert.Equal(4 * 1024 * 1024, plan.PartSize);
        Assert.Equal(3, plan.TotalParts);
        Assert.Equal(10_000_000, plan.TotalDefinitionLength);
        Assert.Equal(new DefinitionSlice(2, 8_388_608, 10_000_000 - 8_388_608), plan.Slice(2));
    }

    [Theory]
    [InlineData(1, 1, 1)]
    [InlineData(1, 100, 1)]
    [InlineData(100, 100, 1)]
    [InlineData(101, 100, 2)]
    [InlineData(200, 100, 2)]
    [InlineData(10_485_760, 65_536, 160)]
    public void Parts_are_the_length_divided_by_the_part_size_rounded_up(long length, int partSize, int parts) =>
        Assert.Equal(parts, PartPlan.For(length, partSize).TotalParts);

    [Theory]
    [InlineData(1L, 1)]
    [InlineData(999L, 7)]
    [InlineData(1_000_000L, 4096)]
    [InlineData(12_345_678L, 65_536)]
    public void Slices_cover_the_file_in_order_without_gaps(long length, int partSize)
    {
        var plan = PartPlan.For(length, partSize);
        var next = 0L;
        foreach (var slice in plan.Slices)
        {
            Assert.Equal(next, slice.Offset);
            Assert.InRange(slice.Length, 1, partSize);
            if (slice.Part < plan.TotalParts - 1) Assert.Equal(partSize, slice.Length);
            next += slice.Length;
        }
        Assert.Equal(length, next);
    }

    [Fact]
    public void More_parts_than_elasticsearch_takes_is_refused_with_the_way_out()
    {
        var error = Assert.Throws<ArgumentException>(() => PartPlan.For(10_001, 1));
        Assert.Contains("at most 10,000", error.Message);
        Assert.Contains("--part-size", error.Message);
        Assert.Equal(10_000, PartPlan.For(10_000, 1).TotalParts);
    }

    [Fact]
    public void An_empty_file_or_a_non_positive_part_size_is_refused()
    {
        Assert.Throws<ArgumentException>(() => PartPlan.For(0));
        Assert.Throws<ArgumentException>(() => PartPlan.For(10, 0));
    }
}
