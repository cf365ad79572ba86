using TrainedModelsOrleans.Inference.OnnxRuntime;
using TrainedModelsOrleans.TestModels;

namespace TrainedModelsOrleans.Inference.Tests;

public class OnnxSessionOutputTests
{
    [Fact]
    public void Output_shaped_by_a_named_input_dimension_is_written_in_place_with_the_right_values()
    {
        using var session = new OnnxSession(TestOnnxModels.Mlp());
        float[] input = TestInputs.Floats(3 * 64, seed: 21);

        OnnxOutput probs = session.Run(OnnxInput.Create("input", input, new long[] { 3, 64 }))[0];

        Assert.Equal([3L, 8L], probs.Shape);
        TestInputs.AssertClose(TestOnnxModels.MlpReference(input, 3), probs.GetData<float>(), 1e-5f);
        Assert.True(session.PreallocatesOutputs);
    }

    [Fact]
    public void Output_whose_real_shape_differs_from_its_declaration_is_still_returned_and_pre_allocation_stops()
    {
        // Transpose turns [rows, columns] into [columns, rows], but the output claims [rows, columns].
        using var session = new OnnxSession(new OnnxModelBuilder("lying")
            .AddInput("x", OnnxDataType.Float, "rows", "columns")
            .AddOutput("y", OnnxDataType.Float, "rows", "columns")
            .AddNode("Transpose", ["x"], ["y"])
            .Build());
        float[] x = [1f, 2f, 3f, 4f, 5f, 6f];

        OnnxOutput y = session.Run(OnnxInput.Create("x", x, new long[] { 2, 3 }))[0];

        Assert.Equal([3L, 2L], y.Shape);
        Assert.Equal([1f, 4f, 2f, 5f, 3f, 6f], y.GetData<float>());
        Assert.False(session.PreallocatesOutputs);
        Assert.Equal([3L, 2L], session.Run(OnnxInput.Create("x", x, new long[] { 2, 3 }))[0].Shape);
    }

    [Fact]
    public void Output_with_an_open_dimension_no_input_names_is_copied_out()
    {
        using var session = new OnnxSession(new OnnxModelBuilder("unnamed")
            .AddInput("x", OnnxDataType.Float, "n")
            .AddOutput("y", OnnxDataType.Float, "m")
            .AddNode("Identity", ["x"], ["y"])
            .Build());

        OnnxOutput y = session.Run(OnnxInput.Create("x", new[] { 1f, 2f }, new long[] { 2 }))[0];

        Assert.Equal([2L], y.Shape);
        Assert.Equal([1f, 2f], y.GetData<float>());
        Assert.True(session.PreallocatesOutputs);
    }
}
