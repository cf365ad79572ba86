using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using TrainedModelsOrleans.Api.Http;
using TrainedModelsOrleans.Grains.Inference;
using TrainedModelsOrleans.Grains.Serving;
using Xunit;

namespace TrainedModelsOrleans.Api.Tests;

/// <summary>
/// The short way's writer formats the first output's numbers once and reuses the text; its answer must stay byte for
/// byte the general path's (TensorDocuments.Render), whatever the values (tiny, huge, negative zero, non-finite) and shapes.
/// </summary>
public sealed class TensorAnswerWriterTests
{
    private static readonly float[] AwkwardFloats =
    [
        0f, -0f, 1f, -1.5f, 0.1f, 1e-5f, 1.17549435E-38f, float.Epsilon, 3.4028235E+38f, 123456.79f, 0.12217117f,
        float.NaN, float.PositiveInfinity, float.NegativeInfinity,
    ];

    public static TheoryData<long[]> Shapes => new() { new long[] { 12 }, new long[] { 2, 6 }, new long[] { 3, 2, 2 }, new long[] { 1, 12 }, new long[] { 12, 1 } };

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Float_outputs_are_written_as_the_general_path_renders_them(long[] shape)
    {
        var random = new Random(7);
        var data = Enumerable.Range(0, 12).Select(i => i < AwkwardFloats.Length ? AwkwardFloats[i] : (float)(random.NextDouble() * 1e3)).ToArray();
        AssertSameAsGeneralPath([[InferenceTensor.Of("probs", data, shape), InferenceTensor.Of("ids", Enumerable.Range(0, 12).Select(i => (long)i).ToArray(), shape)]]);
    }

    [Fact]
    public void Double_outputs_several_docs_and_empty_dimensions_are_written_as_the_general_path_renders_them()
    {
        var doubles = new double[] { 0.1, -0d, 1e-300, double.MaxValue, double.NaN, 2.5e15, 1d / 3, double.NegativeInfinity };
        var random = new Random(3);
        InferenceTensor[][] results =
        [
            [new InferenceTensor("d", "double", [2, 4], doubles)],
            [InferenceTensor.Of("f", Enumerable.Range(0, 64).Select(_ => (float)random.NextDouble()).ToArray(), 1, 64)],
            [InferenceTensor.Of("empty", Array.Empty<float>(), 2, 0), InferenceTensor.Of("after", [1f], 1)],
            [InferenceTensor.Of("scalar", [4.25f])],
            [],
        ];
        AssertSameAsGeneralPath(results);
    }

    [Fact]
    public void A_large_output_is_written_whole_and_the_next_answer_is_not_affected()
    {
        var random = new Random(11);
        var large = Enumerable.Range(0, 50_000).Select(_ => (float)(random.NextDouble() - 0.5) * 1e6f).ToArray();
        AssertSameAsGeneralPath([[InferenceTensor.Of("large", large, 500, 100)]]);
        AssertSameAsGeneralPath([[InferenceTensor.Of("small", [0.5f, 0.25f], 1, 2)]]);
    }

    [Fact]
    public void An_output_whose_shape_does_not_hold_its_values_is_written_as_the_general_path_writes_it_or_refused_alike()
    {
        // More values than the shape holds: the general path nests the first ones; so must the short way.
        AssertSameAsGeneralPath([[InferenceTensor.Of("wide", [1f, 2f, 3f, 4f], 1, 2)]]);
        // Fewer: the general path cannot render it, and the short way must not answer 200 with something made up.
        var buffer = new ArrayBufferWriter<byte>();
        using var writer = new Utf8JsonWriter(buffer);
        Assert.ThrowsAny<Exception>(() => TensorDocuments.Render([InferenceTensor.Of("short", [10.5f, 20.5f], 2, 2)]));
        Assert.ThrowsAny<Exception>(() => TensorInferJson.Write(writer, [[InferenceTensor.Of("short", [10.5f, 20.5f], 2, 2)]]));
        // And the next answer on this thread is whole.
        AssertSameAsGeneralPath([[InferenceTensor.Of("next", [0.5f, 0.25f, 0.125f, 1f], 2, 2)]]);
    }

    private static void AssertSameAsGeneralPath(InferenceTensor[][] results)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer)) TensorInferJson.Write(writer, results);
        var expected = new JsonObject { ["inference_results"] = new JsonArray(results.Select(r => (JsonNode?)TensorDocuments.Render(r)).ToArray()) }.ToJsonString();
        Assert.Equal(expected, Encoding.UTF8.GetString(buffer.WrittenSpan));
    }
}
