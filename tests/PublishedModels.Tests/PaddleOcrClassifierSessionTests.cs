using System.Diagnostics;
using TrainedModelsOrleans.Inference.OnnxRuntime;
using Xunit.Abstractions;

namespace TrainedModelsOrleans.PublishedModels.Tests;

/// <summary>One session for the class: opening the model is the slow part, and Run is thread-safe.</summary>
public sealed class ClassifierSessionFixture : IDisposable
{
    public OnnxSession Session { get; } = new(PublishedModels.PaddleOcrClassifier());

    public void Dispose() => Session.Dispose();
}

public sealed class PaddleOcrClassifierSessionTests(ClassifierSessionFixture fixture, ITestOutputHelper output)
    : IClassFixture<ClassifierSessionFixture>
{
    private readonly OnnxSession _session = fixture.Session;

    [Fact]
    public void Onnx_runtime_reports_one_float_image_input()
    {
        OnnxTensorDescription input = Assert.Single(_session.Inputs);
        Assert.Equal(PublishedModels.PaddleOcrClassifierInputName, input.Name);
        Assert.Equal("x", input.Name);
        Assert.Equal(OnnxValueKind.Tensor, input.Kind);
        Assert.Equal(OnnxElementType.Float, input.ElementType);
        Assert.Equal([-1L, 3, -1, -1], input.Shape);
    }

    [Fact]
    public void Onnx_runtime_reports_one_probability_pair_output()
    {
        OnnxTensorDescription result = Assert.Single(_session.Outputs);
        Assert.Equal(PublishedModels.PaddleOcrClassifierOutputName, result.Name);
        Assert.Equal("softmax_0.tmp_0", result.Name);
        Assert.Equal(OnnxValueKind.Tensor, result.Kind);
        Assert.Equal(OnnxElementType.Float, result.ElementType);
        Assert.Equal([-1L, 2], result.Shape);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public void A_batch_gives_one_probability_pair_per_image(int batch)
    {
        float[] probabilities = Classify(PublishedModels.SampleInput(batch, seed: 3), PublishedModels.InputShape(batch), out long[] shape);

        Assert.Equal([batch, 2L], shape);
        Assert.Equal(batch * 2, probabilities.Length);
        for (int b = 0; b < batch; b++)
        {
            float upright = probabilities[2 * b];
            float flipped = probabilities[(2 * b) + 1];
            Assert.InRange(upright, 0f, 1f);
            Assert.InRange(flipped, 0f, 1f);
            Assert.InRange(upright + flipped, 1f - 1e-4f, 1f + 1e-4f);
            output.WriteLine($"image {b}: P(0°) = {upright:F4}, P(180°) = {flipped:F4}");
        }
    }

    [Fact]
    public void A_batch_agrees_with_its_images_run_one_by_one()
    {
        const int batch = 4;
        float[] together = Classify(PublishedModels.SampleInput(batch, seed: 20), PublishedModels.InputShape(batch), out _);
        for (int b = 0; b < batch; b++)
        {
            float[] alone = Classify(PublishedModels.SampleInput(1, seed: 20 + b), PublishedModels.InputShape(1), out _);
            Assert.Equal(alone[0], together[2 * b], 4);
            Assert.Equal(alone[1], together[(2 * b) + 1], 4);
        }
    }

    [Fact]
    public void Different_images_get_different_scores()
    {
        float[] probabilities = Classify(PublishedModels.SampleInput(4, seed: 5), PublishedModels.InputShape(4), out _);
        Assert.True(
            Enumerable.Range(1, 3).Any(b => MathF.Abs(probabilities[2 * b] - probabilities[0]) > 1e-4f),
            $"all four images scored alike: {string.Join(", ", probabilities)}");
    }

    [Theory]
    [InlineData(100)]
    [InlineData(320)]
    public void The_width_is_dynamic(int width)
    {
        float[] data = new float[2 * 3 * 48 * width];
        Array.Fill(data, 0.8f);
        float[] probabilities = Classify(data, [2, 3, 48, width], out long[] shape);
        Assert.Equal([2L, 2], shape);
        Assert.InRange(probabilities[0] + probabilities[1], 1f - 1e-4f, 1f + 1e-4f);
    }

    [Fact]
    public void Median_latency_of_one_image()
    {
        float[] single = PublishedModels.SampleInput(1, seed: 0);
        long[] singleShape = PublishedModels.InputShape(1);
        float[] four = PublishedModels.SampleInput(4, seed: 0);
        long[] fourShape = PublishedModels.InputShape(4);

        for (int i = 0; i < 20; i++)
        {
            Classify(single, singleShape, out _);
        }

        double[] batch1 = Measure(single, singleShape, runs: 200);
        double[] batch4 = Measure(four, fourShape, runs: 50);
        output.WriteLine(
            $"PaddleOCR classifier, {Environment.ProcessorCount} cores, intra-op threads {OnnxSessionOptions.Default.IntraOpThreads}: " +
            $"batch 1 median {Percentile(batch1, 0.5):F3} ms (p10 {Percentile(batch1, 0.1):F3}, p90 {Percentile(batch1, 0.9):F3}, {batch1.Length} runs); " +
            $"batch 4 median {Percentile(batch4, 0.5):F3} ms ({Percentile(batch4, 0.5) / 4:F3} ms per image, {batch4.Length} runs)");
        Assert.All(batch1, ms => Assert.True(ms > 0));
    }

    private double[] Measure(float[] data, long[] shape, int runs)
    {
        var milliseconds = new double[runs];
        for (int i = 0; i < runs; i++)
        {
            long start = Stopwatch.GetTimestamp();
            Classify(data, shape, out _);
            milliseconds[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }

        Array.Sort(milliseconds);
        return milliseconds;
    }

    private static double Percentile(double[] sorted, double fraction) =>
        sorted[(int)Math.Round(fraction * (sorted.Length - 1))];

    private float[] Classify(float[] data, long[] shape, out long[] outputShape)
    {
        OnnxOutput[] outputs = _session.Run(OnnxInput.Create(PublishedModels.PaddleOcrClassifierInputName, data, shape));
        OnnxOutput result = Assert.Single(outputs);
        Assert.Equal(PublishedModels.PaddleOcrClassifierOutputName, result.Name);
        outputShape = result.Shape;
        return result.GetData<float>();
    }
}
