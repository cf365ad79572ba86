using TrainedModelsOrleans.Grains.Models;
using Xunit;

namespace TrainedModelsOrleans.Grains.Tests.Models;

public class VocabularyRulesTests
{
    private static TrainedModelConfig Model(string body) =>
        TrainedModelCreation.Create(PutTrainedModelSettings.Parse("m", body), DateTimeOffset.UnixEpoch).Config;

    [Fact]
    public void Vocabulary_with_merges_and_scores_is_read()
    {
        var upload = VocabularyRules.Parse("m", """{"vocabulary":["[PAD]","a","b"],"merges":["a b"],"scores":[0,1.5,-2]}""");
        Assert.Equal(["[PAD]", "a", "b"], upload.Vocabulary);
        Assert.Equal(["a b"], upload.Merges);
        Assert.Equal([0, 1.5, -2], upload.Scores);
    }

    [Fact]
    public void Absent_merges_and_scores_are_empty()
    {
        var upload = VocabularyRules.Parse("m", """{"vocabulary":["a"]}""");
        Assert.Empty(upload.Merges);
        Assert.Empty(upload.Scores);
    }

    [Fact]
    public void Empty_vocabulary_is_refused()
    {
        Expect.Error(() => VocabularyRules.Parse("m", """{"vocabulary":[]}"""), 400, "action_request_validation_exception", "[vocabulary] must not be empty");
    }

    [Fact]
    public void Missing_vocabulary_is_refused()
    {
        Expect.Error(() => VocabularyRules.Parse("m", """{"merges":["a b"]}"""), 400, "illegal_argument_exception", "[vocabulary] must not be null.");
    }

    [Fact]
    public void Scores_of_another_length_are_refused()
    {
        Expect.Error(() => VocabularyRules.Parse("m", """{"vocabulary":["a","b"],"scores":[1]}"""), 400, "action_request_validation_exception",
            "[scores] must have same length as [vocabulary]");
    }

    [Fact]
    public void Unknown_vocabulary_field_is_refused()
    {
        Expect.Error(() => VocabularyRules.Parse("m", """{"vocabulary":["a"],"vocab_size":1}"""), 400, "x_content_parse_exception",
            "[put_trained_model_vocabulary] unknown field [vocab_size]");
    }

    [Fact]
    public void Vocabulary_for_a_tree_model_is_refused()
    {
        var model = Model(PutTrainedModelRequestTests.TreeBody);
        var upload = VocabularyRules.Parse("m", """{"vocabulary":["a"]}""");
        Expect.Error(() => VocabularyRules.CheckModelAcceptsVocabulary(model, upload), 400, "status_exception",
            "cannot put vocabulary for model [m] as it is not an NLP model");
    }

    [Fact]
    public void Vocabulary_for_a_bert_model_is_accepted()
    {
        VocabularyRules.CheckModelAcceptsVocabulary(Model(PutTrainedModelRequestTests.OnnxBody), VocabularyRules.Parse("m", """{"vocabulary":["a"]}"""));
    }

    [Fact]
    public void Roberta_model_needs_merges()
    {
        var model = Model("""{"model_type":"onnx","inference_config":{"fill_mask":{"tokenization":{"roberta":{}}}}}""");
        Expect.Error(() => VocabularyRules.CheckModelAcceptsVocabulary(model, VocabularyRules.Parse("m", """{"vocabulary":["a"]}""")), 400, "status_exception",
            "cannot put vocabulary for model [m] as tokenizer type [roberta] requires [merges] to be provided and non-empty");
        VocabularyRules.CheckModelAcceptsVocabulary(model, VocabularyRules.Parse("m", """{"vocabulary":["a"],"merges":["a b"]}"""));
    }

    [Fact]
    public void Xlm_roberta_model_needs_scores()
    {
        var model = Model("""{"model_type":"onnx","inference_config":{"text_embedding":{"tokenization":{"xlm_roberta":{}}}}}""");
        Expect.Error(() => VocabularyRules.CheckModelAcceptsVocabulary(model, VocabularyRules.Parse("m", """{"vocabulary":["a"]}""")), 400, "status_exception",
            "cannot put vocabulary for model [m] as tokenizer type [xlm_roberta] requires [scores] to be provided and non-empty");
    }

    [Fact]
    public void Second_vocabulary_is_refused_as_already_existing()
    {
        Expect.Error(() => throw VocabularyRules.AlreadyExists("m"), 400, "resource_already_exists_exception", "[m] vocabulary already exists");
    }
}
