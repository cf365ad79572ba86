using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Inference.Nlp;
using TrainedModelsOrleans.Inference.Text;
using static TrainedModelsOrleans.Nlp.Tests.NlpModels;

namespace TrainedModelsOrleans.Nlp.Tests;

/// <summary>Reading documents, the stored config and the request's update, with ES's errors.</summary>
public class NlpTaskTests
{
    private static readonly NlpTask PassThrough = NlpTask.For(Config("""{"pass_through":{}}"""), Vocabulary());

    private static ElasticsearchException Refused(Action action) => Assert.Throws<ElasticsearchException>(action);

    [Fact]
    public void Input_is_read_from_the_models_first_field_name()
    {
        var task = NlpTask.For(Config("""{"pass_through":{}}""", inputField: "text_field"), Vocabulary());

        Assert.Equal("text_field", task.InputField);
        Assert.Equal("fun", task.ReadInput(Update("""{"text_field":"fun","other":1}""")));
    }

    [Fact]
    public void Dotted_input_field_reaches_into_objects_or_dotted_keys()
    {
        var task = NlpTask.For(Config("""{"pass_through":{}}""", inputField: "body.text"), Vocabulary());

        Assert.Equal("nested", task.ReadInput(Update("""{"body":{"text":"nested"}}""")));
        Assert.Equal("flat", task.ReadInput(Update("""{"body.text":"flat"}""")));
    }

    [Fact]
    public void Missing_or_non_string_input_is_refused_with_the_es_text()
    {
        var missing = Refused(() => PassThrough.ReadInput(Update("""{"something":"my words"}""")));
        Assert.Equal(400, missing.Status);
        Assert.Equal("status_exception", missing.Type);
        Assert.Equal("Input field [input] does not exist in the source document", missing.Reason);

        Assert.Equal("Input field [input] does not exist in the source document", Refused(() => PassThrough.ReadInput(Update("""{"input":null}"""))).Reason);
        Assert.Equal("Input value [1] for field [input] must be a string", Refused(() => PassThrough.ReadInput(Update("""{"input":1}"""))).Reason);
        Assert.Equal("Input value [1.5] for field [input] must be a string", Refused(() => PassThrough.ReadInput(Update("""{"input":1.5}"""))).Reason);
        Assert.Equal("Input value [[a, b]] for field [input] must be a string", Refused(() => PassThrough.ReadInput(Update("""{"input":["a","b"]}"""))).Reason);
        Assert.Equal("Input value [{a=b}] for field [input] must be a string", Refused(() => PassThrough.ReadInput(Update("""{"input":{"a":"b"}}"""))).Reason);
    }

    [Fact]
    public void Update_for_another_task_is_forbidden()
    {
        var e = Refused(() => PassThrough.WithUpdate(Update("""{"ner":{}}""")));

        Assert.Equal(403, e.Status);
        Assert.Equal("Trained model [my-model] is configured for task [pass_through] but called with task [ner]", e.Reason);
    }

    [Fact]
    public void Update_with_unknown_names_is_refused()
    {
        Assert.Equal("unknown field [nope]", Refused(() => PassThrough.WithUpdate(Update("""{"nope":{}}"""))).Reason);

        var field = Refused(() => PassThrough.WithUpdate(Update("""{"pass_through":{"result_field":"x"}}""")));
        Assert.Equal("x_content_parse_exception", field.Type);
        Assert.Equal("[pass_through] unknown field [result_field] did you mean [results_field]?", field.Reason);

        var tokenization = Refused(() => PassThrough.WithUpdate(Update("""{"pass_through":{"tokenization":{"mpnet":{"truncate":"none"}}}}""")));
        Assert.Equal("Tokenization config of type [bert] can not be updated with a request of type [mpnet]", tokenization.Reason);

        var truncate = Refused(() => PassThrough.WithUpdate(Update("""{"pass_through":{"tokenization":{"bert":{"truncate":"middle"}}}}""")));
        Assert.Equal("No enum constant org.elasticsearch.xpack.core.ml.inference.trainedmodel.Tokenization.Truncate.MIDDLE", truncate.Reason);
    }

    [Fact]
    public void Truncate_none_from_the_update_refuses_long_input()
    {
        var task = NlpTask.For(Config("""{"pass_through":{"tokenization":{"bert":{"max_sequence_length":4}}}}"""), Vocabulary())
            .WithUpdate(Update("""{"pass_through":{"tokenization":{"bert":{"truncate":"none"}}}}"""));

        var e = Refused(() => task.Prepare(["Elasticsearch is fun"]));

        Assert.Equal(400, e.Status);
        Assert.Equal("status_exception", e.Type);
        Assert.Equal("Input too large. The tokenized input length [6] exceeds the maximum sequence length [4]", e.Reason);
        Assert.Equal(Truncation.First, NlpTask.For(Config("""{"pass_through":{}}"""), Vocabulary()).Settings.Truncate);
    }

    [Fact]
    public void Truncate_balanced_from_the_update_clears_the_span_and_cuts_a_single_text_at_its_end()
    {
        var windowed = """{"text_classification":{"classification_labels":["a","b"],"tokenization":{"bert":{"max_sequence_length":4,"truncate":"none","span":1}}}}""";
        var task = NlpTask.For(Config(windowed), Vocabulary())
            .WithUpdate(Update("""{"text_classification":{"tokenization":{"bert":{"truncate":"balanced"}}}}"""));

        Assert.Equal(Truncation.Balanced, task.Settings.Truncate);
        Assert.Equal(-1, task.Settings.Tokenization.Span);
        var row = Assert.Single(task.Prepare(["Elasticsearch is fun"]).Tokens.Sequences);
        Assert.True(row.Truncated);
        Assert.Equal(4, row.Length);
    }

    [Fact]
    public void Span_rules_apply_to_the_update()
    {
        var windowed = """{"text_classification":{"classification_labels":["a","b"],"tokenization":{"bert":{"truncate":"none","span":2}}}}""";
        var classification = NlpTask.For(Config(windowed), Vocabulary());

        // A truncating value clears the configured span.
        var truncating = classification.WithUpdate(Update("""{"text_classification":{"tokenization":{"bert":{"truncate":"first"}}}}"""));
        Assert.Equal(-1, truncating.Settings.Tokenization.Span);

        var both = Refused(() => classification.WithUpdate(Update("""{"text_classification":{"tokenization":{"bert":{"truncate":"first","span":3}}}}""")));
        Assert.Equal("[span] must not be provided when [truncate] is [first]", both.Reason);

        var tooWide = Refused(() => classification.WithUpdate(Update("""{"text_classification":{"tokenization":{"bert":{"span":600}}}}""")));
        Assert.Equal("[span] provided [600] must not be greater than [max_sequence_length] provided [512]", tooWide.Reason);

        var passThrough = Refused(() => PassThrough.WithUpdate(Update("""{"pass_through":{"tokenization":{"bert":{"truncate":"none","span":5}}}}""")));
        Assert.Equal("[pass_through] does not support windowing long text sequences; configured span [5]", passThrough.Reason);
    }

    [Fact]
    public void Labels_may_be_renamed_but_not_added()
    {
        var task = NlpTask.For(Config("""{"text_classification":{"classification_labels":["a","b"]}}"""), Vocabulary());

        var e = Refused(() => task.WithUpdate(Update("""{"text_classification":{"classification_labels":["x","y","z"]}}""")));

        Assert.Equal("The number of [classification_labels] the model is defined with [2] does not match the number in the update [3]", e.Reason);
        Assert.Equal(["x", "y"], task.WithUpdate(Update("""{"text_classification":{"classification_labels":["x","y"]}}""")).Settings.ClassificationLabels);
    }

    [Fact]
    public void Vocabulary_without_unknown_token_is_a_conflict()
    {
        var e = Refused(() => NlpTask.For(Config("""{"pass_through":{}}"""), Vocabulary(["a", "[PAD]", "[CLS]", "[SEP]"])));

        Assert.Equal(409, e.Status);
        Assert.Equal("stored vocabulary is missing required [[UNK]] token", e.Reason);
    }

    [Fact]
    public void Tokenizations_not_served_here_are_refused_up_front()
    {
        var tokenization = Refused(() => NlpTask.For(Config("""{"pass_through":{"tokenization":{"bert_ja":{}}}}"""), Vocabulary()));
        Assert.Equal(400, tokenization.Status);
        Assert.StartsWith("Trained model [my-model] uses tokenization [bert_ja], which this service cannot run: it splits Japanese text", tokenization.Reason);
        Assert.EndsWith("supported tokenizations are [bert, mpnet, roberta, xlm_roberta, deberta_v2]", tokenization.Reason);
    }

    [Fact]
    public void Ner_labels_must_not_repeat()
    {
        var e = Refused(() => NlpTask.For(Config("""{"ner":{"classification_labels":["O","B_PER","B_PER"]}}"""), Vocabulary()));

        Assert.Equal("validation_exception", e.Type);
        Assert.Equal("Validation Failed: 1: the classification label [B_PER] is duplicated in the list [O, B_PER, B_PER];", e.Reason);
    }
}
