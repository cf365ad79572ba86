using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Inference.Nlp;
using TrainedModelsOrleans.Inference.OnnxRuntime;
using static TrainedModelsOrleans.Nlp.Tests.NlpModels;

namespace TrainedModelsOrleans.Nlp.Tests;

/// <summary>Feeding a session's declared inputs from a tokenized batch.</summary>
public class NlpModelInputsTests
{
    private static readonly NlpTask PassThrough = NlpTask.For(Config("""{"pass_through":{}}"""), Vocabulary());

    [Fact]
    public void Inputs_are_fed_by_name_in_the_sessions_order_and_type()
    {
        var batch = PassThrough.Prepare(["Elasticsearch", "my little red car"]);

        var inputs = batch.BuildInputs([
            Input("position_ids"), Input("token_type_ids"), Input("attention_mask", OnnxElementType.Int32), Input("input_ids")]);

        Assert.Equal(["position_ids", "token_type_ids", "attention_mask", "input_ids"], inputs.Select(i => i.Name));
        Assert.Equal(OnnxElementType.Int32, inputs[2].ElementType);
        Assert.Equal(OnnxElementType.Int64, inputs[3].ElementType);
        Assert.All(inputs, i => Assert.Equal([2L, 6L], i.Shape.ToArray()));
        Assert.All(inputs, i => Assert.Equal(12, i.Length));
    }

    [Fact]
    public void Unknown_names_get_what_es_sends_in_their_position()
    {
        var batch = PassThrough.Prepare(["Elasticsearch", "my little red car"]);
        var model = NlpModelInputs.Describe([Input("ids"), Input("mask", OnnxElementType.Int32), Input("segments")]);

        var tensors = batch.BuildTensors(model);

        Assert.True(model.TakesAttentionMask);
        Assert.False(NlpModelInputs.Describe([Input("input_ids")]).TakesAttentionMask);
        Assert.Equal(batch.Tokens.InputIds, tensors[0].GetData<long>());
        Assert.Equal(batch.Tokens.AttentionMask.Select(v => (int)v), tensors[1].GetData<int>());
        Assert.Equal(OnnxElementType.Int32, tensors[1].ElementType);
        Assert.All(tensors[2].GetData<long>(), v => Assert.Equal(0L, v));
        Assert.Equal([2L, 6L], tensors[2].Shape);
    }

    [Fact]
    public void Inputs_that_cannot_carry_tokens_are_a_conflict()
    {
        var floats = Assert.Throws<ElasticsearchException>(() => NlpModelInputs.Describe([Input("input_ids", OnnxElementType.Float)]));
        Assert.Equal(409, floats.Status);
        Assert.Equal("model input [input_ids] has type [float]; NLP model inputs must be int64 or int32 tensors", floats.Reason);

        var fifth = Assert.Throws<ElasticsearchException>(() => NlpModelInputs.Describe([Input("a"), Input("b"), Input("c"), Input("d"), Input("e")]));
        Assert.Contains("[e]", fifth.Reason);
    }

    [Fact]
    public void Fixed_sequence_length_pads_the_batch_and_results_are_trimmed_back()
    {
        var batch = PassThrough.Prepare(["fun"]);
        var model = NlpModelInputs.Describe([Input("input_ids", sequence: 8), Input("attention_mask", sequence: 8)]);

        var inputs = batch.BuildInputs(model);
        Assert.Equal([1L, 8L], inputs[0].Shape.ToArray());
        Assert.Equal(8, model.FixedSequenceLength);

        var result = batch.ToResults([Output(new float[8], 1, 8, 1)])[0];
        Assert.Equal(3, result["predicted_value"]!.AsArray().Count); // [CLS] fun [SEP]

        var tooShort = NlpModelInputs.Describe([Input("input_ids", sequence: 2)]);
        Assert.Equal(400, Assert.Throws<ElasticsearchException>(() => batch.BuildInputs(tooShort)).Status);
    }
}
