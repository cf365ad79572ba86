using TrainedModelsOrleans.Inference.OnnxRuntime;
using TrainedModelsOrleans.TestModels;

namespace TrainedModelsOrleans.Inference.Tests;

public class OnnxSessionErrorTests
{
    [Fact]
    public void Garbage_bytes_are_refused_as_invalid_protobuf()
    {
        var error = Assert.Throws<OnnxRuntimeException>(() => new OnnxSession(TestOnnxModels.Garbage(4096)));

        Assert.Equal(7, error.ErrorCode);
        Assert.Equal("INVALID_PROTOBUF", error.ErrorCodeName);
        Assert.EndsWith("protobuf parsing failed.", error.OrtMessage);
        Assert.Contains(error.OrtMessage, error.Message);
    }

    [Fact]
    public void Truncated_model_is_refused_as_invalid_protobuf()
    {
        var error = Assert.Throws<OnnxRuntimeException>(() => new OnnxSession(TestOnnxModels.Truncated(TestOnnxModels.Mlp())));

        Assert.Equal(7, error.ErrorCode);
    }

    [Fact]
    public void Unknown_op_is_refused_as_an_invalid_graph_naming_the_op()
    {
        var error = Assert.Throws<OnnxRuntimeException>(() => new OnnxSession(TestOnnxModels.WithUnknownOp()));

        Assert.Equal(10, error.ErrorCode);
        Assert.Contains("NoSuchOp", error.OrtMessage);
    }

    [Fact]
    public void Empty_model_is_refused_before_reaching_the_runtime()
    {
        Assert.Throws<ArgumentException>(() => new OnnxSession(ReadOnlySpan<byte>.Empty));
    }

    [Fact]
    public void Wrong_input_width_is_refused_by_the_runtime_as_invalid_argument()
    {
        using var session = new OnnxSession(TestOnnxModels.Mlp());

        var error = Assert.Throws<OnnxRuntimeException>(() => session.Run(OnnxInput.Create("input", new float[10], new long[] { 1, 10 })));

        Assert.Equal(2, error.ErrorCode);
        Assert.Contains("Got: 10 Expected: 64", error.OrtMessage);
    }

    [Fact]
    public void Wrong_element_type_is_refused_up_front()
    {
        using var session = new OnnxSession(TestOnnxModels.Mlp());

        var error = Assert.Throws<ArgumentException>(() => session.Run(OnnxInput.Create("input", new long[64], new long[] { 1, 64 })));

        Assert.Contains("expects tensor(float) but was given tensor(int64)", error.Message);
    }

    [Fact]
    public void Unknown_input_name_is_refused_listing_the_real_inputs()
    {
        using var session = new OnnxSession(TestOnnxModels.Mlp());

        var error = Assert.Throws<ArgumentException>(() => session.Run(OnnxInput.Create("pixels", new float[64], new long[] { 1, 64 })));

        Assert.Contains("no input named 'pixels'", error.Message);
        Assert.Contains("input", error.Message);
    }

    [Fact]
    public void Data_length_that_does_not_match_the_shape_is_refused()
    {
        using var session = new OnnxSession(TestOnnxModels.Mlp());

        var error = Assert.Throws<ArgumentException>(() => session.Run(OnnxInput.Create("input", new float[63], new long[] { 1, 64 })));

        Assert.Contains("holds 64 elements, but its data has 63", error.Message);
    }

    [Fact]
    public void Negative_dimension_out_of_range_index_and_repeated_output_are_refused()
    {
        using var session = new OnnxSession(TestOnnxModels.Mlp());

        Assert.Throws<ArgumentException>(() => session.Run(OnnxInput.Create("input", new float[64], new long[] { -1, 64 })));
        Assert.Throws<ArgumentException>(() => session.Run(OnnxInput.Create(1, new float[64], new long[] { 1, 64 })));
        Assert.Throws<ArgumentException>(() => session.Run([OnnxInput.Create("input", new float[64], new long[] { 1, 64 })], [1]));
        Assert.Throws<ArgumentException>(() => session.Run([OnnxInput.Create("input", new float[64], new long[] { 1, 64 })], [0, 0]));
    }

    [Fact]
    public void The_same_input_given_twice_is_refused()
    {
        using var session = new OnnxSession(TestOnnxModels.Text(attentionMask: true));
        long[] ids = [1, 2];

        var error = Assert.Throws<ArgumentException>(() =>
            session.Run([OnnxInput.Create("input_ids", ids, new long[] { 1, 2 }), OnnxInput.Create(0, ids, new long[] { 1, 2 })]));

        Assert.Contains("more than once", error.Message);
    }

    [Fact]
    public void Missing_input_is_refused_up_front_naming_it()
    {
        using var session = new OnnxSession(TestOnnxModels.Text(attentionMask: true));

        var error = Assert.Throws<ArgumentException>(() => session.Run(OnnxInput.Create("input_ids", new long[] { 1, 2 }, new long[] { 1, 2 })));

        Assert.Contains("needs input 'attention_mask'", error.Message);
    }

    [Fact]
    public void Token_id_outside_the_vocabulary_fails_the_run_and_the_session_keeps_working()
    {
        using var session = new OnnxSession(TestOnnxModels.Text());

        var error = Assert.Throws<OnnxRuntimeException>(() => session.Run(OnnxInput.Create("input_ids", new long[] { 1000 }, new long[] { 1, 1 })));

        Assert.Equal(2, error.ErrorCode);
        Assert.Contains("Gather", error.OrtMessage);
        Assert.Single(session.Run(OnnxInput.Create("input_ids", new long[] { 999 }, new long[] { 1, 1 })));
    }

    [Fact]
    public void Invalid_session_option_is_reported_with_the_runtime_message()
    {
        var error = Assert.Throws<OnnxRuntimeException>(() => new OnnxSession(TestOnnxModels.Mlp(), new OnnxSessionOptions { GraphOptimizationLevel = 42 }));

        Assert.Equal(2, error.ErrorCode);
        Assert.Contains("graph_optimization_level", error.OrtMessage);
    }
}
