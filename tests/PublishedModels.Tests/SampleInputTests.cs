namespace TrainedModelsOrleans.PublishedModels.Tests;

public sealed class SampleInputTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(4)]
    public void Shape_and_length_agree(int batch)
    {
        long[] shape = PublishedModels.InputShape(batch);
        Assert.Equal([batch, 3, 48, 192], shape);
        Assert.Equal(shape.Aggregate(1L, (a, b) => a * b), PublishedModels.SampleInput(batch, seed: 7).LongLength);
    }

    [Fact]
    public void Values_are_normalised_pixels()
    {
        float[] input = PublishedModels.SampleInput(4, seed: 1);
        Assert.All(input, v => Assert.InRange(v, -1f, 1f));

        // Mostly light paper with some dark ink: not constant, not noise around zero.
        double mean = input.Average(v => (double)v);
        Assert.InRange(mean, 0.2, 0.95);
        Assert.Contains(input, v => v < -0.3f);
    }

    [Fact]
    public void The_same_seed_gives_the_same_batch()
    {
        Assert.Equal(PublishedModels.SampleInput(2, seed: 42), PublishedModels.SampleInput(2, seed: 42));
        Assert.NotEqual(PublishedModels.SampleInput(1, seed: 42), PublishedModels.SampleInput(1, seed: 43));
    }

    [Fact]
    public void Image_b_is_the_single_image_for_seed_plus_b()
    {
        const int image = 3 * 48 * 192;
        float[] batch = PublishedModels.SampleInput(4, seed: 10);
        for (int b = 0; b < 4; b++)
        {
            Assert.Equal(PublishedModels.SampleInput(1, seed: 10 + b), batch.AsSpan(b * image, image).ToArray());
        }
    }

    [Fact]
    public void Negative_batches_are_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => PublishedModels.InputShape(-1));
        Assert.Throws<ArgumentOutOfRangeException>(() => PublishedModels.SampleInput(-1, seed: 0));
    }
}
