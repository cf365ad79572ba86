using TrainedModelsOrleans.Grains.Models;
using Xunit;

namespace TrainedModelsOrleans.Grains.Tests.Models;

public class InferenceConfigParserTests
{
    private static ParsedInferenceConfig Parse(string json) => InferenceConfigParser.Parse(json);

    [Theory]
    [InlineData("regression")]
    [InlineData("classification")]
    [InlineData("pass_through")]
    [InlineData("text_embedding")]
    [InlineData("ner")]
    [InlineData("fill_mask")]
    [InlineData("question_answering")]
    [InlineData("text_similarity")]
    [InlineData("text_expansion")]
    public void Every_elasticsearch_config_name_is_accepted(string name)
    {
        Assert.Equal(name, Parse("{\"" + name + "\":{}}").TaskType);
    }

    [Fact]
    public void Unknown_config_name_is_refused_as_elasticsearch_does()
    {
        var e = Expect.Error(() => Parse("""{"sentiment":{}}"""), 400, "x_content_parse_exception", "[1:2] [inference_config] failed to parse field [sentiment]");
        e.RootIs("named_object_not_found_exception", "[1:2] unknown field [sentiment]");
    }

    [Fact]
    public void Unknown_config_name_inside_a_put_body_is_wrapped_by_the_config_parser()
    {
        var e = Expect.Error(() => PutTrainedModelSettings.Parse("m", """{"model_type":"onnx","inference_config":{"sentiment":{}}}"""),
            400, "x_content_parse_exception", "[trained_model_config] failed to parse field [inference_config]");
        e.RootIs("named_object_not_found_exception", "unknown field [sentiment]");
    }

    [Fact]
    public void Two_configs_at_once_are_refused()
    {
        Expect.Error(() => Parse("""{"regression":{},"classification":{}}"""), 400, "x_content_parse_exception", "[inference_config] must hold exactly one of");
    }

    [Fact]
    public void Unknown_field_inside_a_config_is_refused()
    {
        var e = Expect.Error(() => Parse("""{"regression":{"foo":1}}"""), 400, "x_content_parse_exception", "[inference_config] failed to parse field [regression]");
        e.RootIs("x_content_parse_exception", "[regression] unknown field [foo]");
    }

    [Fact]
    public void Regression_defaults_are_filled_in()
    {
        var config = Parse("""{"regression":{}}""");
        Assert.Equal("""{"regression":{"results_field":"predicted_value","num_top_feature_importance_values":0}}""", config.ToJson().ToJsonString());
        Assert.True(config.SupportsTargetType("regression"));
        Assert.False(config.SupportsTargetType("classification"));
    }

    [Fact]
    public void Negative_feature_importance_count_is_refused()
    {
        Expect.Error(() => Parse("""{"regression":{"num_top_feature_importance_values":-1}}"""), 400, "x_content_parse_exception", "failed to parse field [regression]")
            .RootIs("illegal_argument_exception", "[num_top_feature_importance_values] must be greater than or equal to 0");
    }

    [Fact]
    public void Classification_defaults_are_filled_in()
    {
        Assert.Equal(
            """{"classification":{"num_top_classes":0,"top_classes_results_field":"top_classes","results_field":"predicted_value","num_top_feature_importance_values":0,"prediction_field_type":"string"}}""",
            Parse("""{"classification":{}}""").ToJson().ToJsonString());
    }

    [Fact]
    public void Unknown_prediction_field_type_is_refused()
    {
        Expect.Error(() => Parse("""{"classification":{"prediction_field_type":"date"}}"""), 400, "x_content_parse_exception", "failed to parse field [classification]")
            .RootIs("illegal_argument_exception", "No enum constant org.elasticsearch.xpack.core.ml.inference.trainedmodel.PredictionFieldType.DATE");
    }

    [Fact]
    public void Pass_through_defaults_to_bert_tokenization()
    {
        var config = Parse("""{"pass_through":{}}""");
        Assert.Equal(
            """{"pass_through":{"vocabulary":{"index":".ml-inference-native-000002"},"tokenization":{"bert":{"do_lower_case":false,"with_special_tokens":true,"max_sequence_length":512,"truncate":"first","span":-1}}}}""",
            config.ToJson().ToJsonString());
        Assert.True(config.IsNlp);
        Assert.False(config.SupportsTargetType("regression"));
    }

    [Fact]
    public void Vocabulary_is_not_settable_on_creation()
    {
        Expect.Error(() => Parse("""{"pass_through":{"vocabulary":{"index":"x"}}}"""), 400, "x_content_parse_exception", "failed to parse field [pass_through]")
            .RootIs("status_exception", "illegal setting [vocabulary] on inference model creation");
    }

    [Fact]
    public void Bert_tokenization_settings_are_kept()
    {
        var config = Parse("""{"text_embedding":{"tokenization":{"bert":{"do_lower_case":true,"max_sequence_length":128,"truncate":"second","with_special_tokens":false}},"results_field":"vec","embedding_size":384}}""");
        var t = config.Tokenization!;
        Assert.Equal(("bert", true, false, 128, "second", -1), (t.Name, t.DoLowerCase, t.WithSpecialTokens, t.MaxSequenceLength, t.Truncate, t.Span));
        Assert.Equal(384, (int)config.Settings["embedding_size"]!);
        Assert.Equal("vec", (string)config.Settings["results_field"]!);
    }

    [Fact]
    public void Unknown_tokenization_is_refused()
    {
        Expect.Error(() => Parse("""{"pass_through":{"tokenization":{"gpt":{}}}}"""), 400, "x_content_parse_exception", "failed to parse field [pass_through]")
            .RootIs("named_object_not_found_exception", "unknown field [gpt]");
    }

    [Fact]
    public void Unknown_truncate_value_is_refused()
    {
        Expect.Error(() => Parse("""{"pass_through":{"tokenization":{"bert":{"truncate":"middle"}}}}"""), 400, "x_content_parse_exception", "failed to parse field [pass_through]")
            .RootIs("illegal_argument_exception", "No enum constant org.elasticsearch.xpack.core.ml.inference.trainedmodel.Tokenization.Truncate.MIDDLE");
    }

    [Fact]
    public void Non_positive_max_sequence_length_is_refused()
    {
        Expect.Error(() => Parse("""{"pass_through":{"tokenization":{"bert":{"max_sequence_length":0}}}}"""), 400, "x_content_parse_exception", "[inference_config] failed to parse field [pass_through]")
            .ChainHas("[tokenization] failed to parse field [bert]")
            .RootIs("illegal_argument_exception", "[max_sequence_length] must be positive");
    }

    [Fact]
    public void Span_with_truncation_is_refused()
    {
        Expect.Error(() => Parse("""{"text_classification":{"classification_labels":["a","b"],"tokenization":{"bert":{"span":10}}}}"""), 400, "x_content_parse_exception", "failed to parse field")
            .RootIs("illegal_argument_exception", "[span] must not be provided when [truncate] is [first]");
    }

    [Fact]
    public void Span_larger_than_max_sequence_length_is_refused()
    {
        Expect.Error(() => Parse("""{"text_classification":{"classification_labels":["a","b"],"tokenization":{"bert":{"span":600,"truncate":"none"}}}}"""), 400, "x_content_parse_exception", "failed to parse field")
            .RootIs("illegal_argument_exception", "[span] provided [600] must not be greater than [max_sequence_length] provided [512]");
    }

    [Fact]
    public void Negative_span_other_than_minus_one_is_refused()
    {
        Expect.Error(() => Parse("""{"text_classification":{"classification_labels":["a","b"],"tokenization":{"bert":{"span":-2,"truncate":"none"}}}}"""), 400, "x_content_parse_exception", "failed to parse field")
            .RootIs("illegal_argument_exception", "[span] must be non-negative to indicate span length or [-1] to indicate no windowing should occur");
    }

    [Fact]
    public void Windowing_is_allowed_for_text_classification()
    {
        var config = Parse("""{"text_classification":{"classification_labels":["a","b"],"tokenization":{"bert":{"span":128,"truncate":"none"}}}}""");
        Assert.Equal(128, config.Tokenization!.Span);
    }

    [Theory]
    [InlineData("pass_through")]
    [InlineData("text_embedding")]
    [InlineData("ner")]
    [InlineData("fill_mask")]
    public void Windowing_is_refused_where_elasticsearch_does_not_support_it(string task)
    {
        Expect.Error(() => Parse("{\"" + task + "\":{\"tokenization\":{\"bert\":{\"span\":128,\"truncate\":\"none\"}}}}"), 400, "x_content_parse_exception", $"failed to parse field [{task}]")
            .RootIs("status_exception", $"[{task}] does not support windowing long text sequences; configured span [128]");
    }

    [Fact]
    public void Roberta_refuses_lower_casing()
    {
        Expect.Error(() => Parse("""{"pass_through":{"tokenization":{"roberta":{"do_lower_case":true}}}}"""), 400, "x_content_parse_exception", "failed to parse field")
            .RootIs("illegal_argument_exception", "unable to set [do_lower_case] to [true] for roberta tokenizer");
    }

    [Fact]
    public void Roberta_has_add_prefix_space()
    {
        var config = Parse("""{"pass_through":{"tokenization":{"roberta":{"add_prefix_space":true}}}}""");
        Assert.True(config.Tokenization!.AddPrefixSpace);
    }

    [Fact]
    public void Add_prefix_space_is_refused_for_bert()
    {
        Expect.Error(() => Parse("""{"pass_through":{"tokenization":{"bert":{"add_prefix_space":true}}}}"""), 400, "x_content_parse_exception", "failed to parse field")
            .RootIs("x_content_parse_exception", "[bert_tokenization] unknown field [add_prefix_space]");
    }

    [Fact]
    public void Text_classification_needs_two_labels()
    {
        Expect.Error(() => Parse("""{"text_classification":{"classification_labels":["only"]}}"""), 400, "x_content_parse_exception", "failed to parse field [text_classification]")
            .RootIs("status_exception", "[text_classification] requires at least 2 [classification_labels]; provided [only]");
        Expect.Error(() => Parse("""{"text_classification":{}}"""), 400, "x_content_parse_exception", "failed to parse field [text_classification]")
            .RootIs("status_exception", "[text_classification] requires at least 2 [classification_labels]; provided null");
    }

    [Fact]
    public void Ner_labels_must_be_iob_tags()
    {
        Expect.Error(() => Parse("""{"ner":{"classification_labels":["O","PER"]}}"""), 400, "x_content_parse_exception", "failed to parse field [ner]")
            .RootIs("status_exception", "[ner] only allows IOB tokenization tagging for classification labels; provided [PER]");
    }

    [Fact]
    public void Ner_labels_must_include_the_outside_label()
    {
        Expect.Error(() => Parse("""{"ner":{"classification_labels":["B-PER","I-PER"]}}"""), 400, "x_content_parse_exception", "failed to parse field [ner]")
            .RootIs("status_exception", "missing outside label [O]");
    }

    [Fact]
    public void Fill_mask_defaults_to_five_results_and_the_tokenizers_mask()
    {
        var config = Parse("""{"fill_mask":{}}""");
        Assert.Equal(5, (int)config.Settings["num_top_classes"]!);
        Assert.Equal("[MASK]", (string)config.Settings["mask_token"]!);
    }

    [Fact]
    public void Fill_mask_token_must_match_the_tokenizer()
    {
        Expect.Error(() => Parse("""{"fill_mask":{"mask_token":"<mask>"}}"""), 400, "x_content_parse_exception", "failed to parse field [fill_mask]")
            .RootIs("illegal_argument_exception", "Mask token requested was [<mask>] but must be [[MASK]] for this model");
        Assert.Equal("<mask>", (string)Parse("""{"fill_mask":{"mask_token":"<mask>","tokenization":{"roberta":{}}}}""").Settings["mask_token"]!);
    }

    [Fact]
    public void Zero_shot_needs_the_three_nli_labels()
    {
        Expect.Error(() => Parse("""{"zero_shot_classification":{}}"""), 400, "x_content_parse_exception", "failed to parse field [zero_shot_classification]")
            .RootIs("illegal_argument_exception", "Required [classification_labels]");
        Expect.Error(() => Parse("""{"zero_shot_classification":{"classification_labels":["a","b"]}}"""), 400, "x_content_parse_exception", "failed to parse field")
            .RootIs("status_exception", "[classification_labels] must contain exactly the three values [contradiction, entailment, neutral]");
        Expect.Error(() => Parse("""{"zero_shot_classification":{"classification_labels":["Entailment","neutral","maybe"]}}"""), 400, "x_content_parse_exception", "failed to parse field")
            .RootIs("status_exception", "Invalid labels [maybe]");
    }

    [Fact]
    public void Zero_shot_defaults_are_filled_in()
    {
        var config = Parse("""{"zero_shot_classification":{"classification_labels":["entailment","neutral","contradiction"]}}""");
        Assert.Equal("This example is {}.", (string)config.Settings["hypothesis_template"]!);
        Assert.False((bool)config.Settings["multi_label"]!);
    }

    [Fact]
    public void Zero_shot_empty_labels_are_refused()
    {
        Expect.Error(() => Parse("""{"zero_shot_classification":{"classification_labels":["entailment","neutral","contradiction"],"labels":[]}}"""), 400, "x_content_parse_exception", "failed to parse field")
            .RootIs("status_exception", "[labels] must not be empty");
    }

    [Fact]
    public void Question_answering_limits_are_checked()
    {
        Expect.Error(() => Parse("""{"question_answering":{"num_top_classes":-1}}"""), 400, "x_content_parse_exception", "failed to parse field")
            .RootIs("status_exception", "[num_top_classes] must be greater than or equal to [0]; provided [-1]");
        Expect.Error(() => Parse("""{"question_answering":{"max_answer_length":0}}"""), 400, "x_content_parse_exception", "failed to parse field")
            .RootIs("status_exception", "[max_answer_length] must be greater than [0]; provided [0]");
        Assert.Equal(15, (int)Parse("""{"question_answering":{}}""").Settings["max_answer_length"]!);
    }

    [Fact]
    public void Text_embedding_size_must_be_positive()
    {
        Expect.Error(() => Parse("""{"text_embedding":{"embedding_size":0}}"""), 400, "x_content_parse_exception", "failed to parse field")
            .RootIs("status_exception", "[embedding_size] must be a number greater than 0; configured size [0]");
    }

    [Fact]
    public void Text_similarity_span_function_is_checked()
    {
        Assert.Equal("mean", (string)Parse("""{"text_similarity":{"span_score_combination_function":"mean"}}""").Settings["span_score_combination_function"]!);
        Expect.Error(() => Parse("""{"text_similarity":{"span_score_combination_function":"sum"}}"""), 400, "x_content_parse_exception", "failed to parse field")
            .RootIs("illegal_argument_exception", "SpanScoreFunction.SUM");
    }

    [Fact]
    public void Wrong_value_kind_inside_a_config_is_refused()
    {
        Expect.Error(() => Parse("""{"ner":{"results_field":{}}}"""), 400, "x_content_parse_exception", "failed to parse field [ner]")
            .RootIs("x_content_parse_exception", "[ner] results_field doesn't support values of type: START_OBJECT");
    }
}
