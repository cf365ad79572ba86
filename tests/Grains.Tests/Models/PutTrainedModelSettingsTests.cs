using TrainedModelsOrleans.Grains.Models;
using Xunit;

namespace TrainedModelsOrleans.Grains.Tests.Models;

public class PutTrainedModelRequestTests
{
    internal const string OnnxBody = """{"model_type":"onnx","inference_config":{"pass_through":{}}}""";

    internal const string TreeDefinition = """
        {"trained_model":{"tree":{"feature_names":["a","b"],"tree_structure":[
          {"node_index":0,"split_feature":0,"threshold":0.5,"left_child":1,"right_child":2},
          {"node_index":1,"leaf_value":[1.0]},
          {"node_index":2,"leaf_value":[2.0]}]}}}
        """;

    internal static readonly string TreeBody =
        $$$"""{"input":{"field_names":["a","b"]},"inference_config":{"regression":{}},"definition":{{{TreeDefinition}}} }""";

    private static PutTrainedModelSettings Parse(string body, string id = "my-model", bool defer = false) =>
        PutTrainedModelSettings.Parse(id, body, defer);

    [Fact]
    public void Onnx_model_gets_the_default_input_field()
    {
        var request = Parse(OnnxBody);
        Assert.Equal("my-model", request.ModelId);
        Assert.Equal("onnx", request.ModelType);
        Assert.Equal(["input"], request.Input.FieldNames);
        Assert.Equal("pass_through", request.InferenceConfig.TaskType);
        Assert.Null(request.Definition);
    }

    [Fact]
    public void Tree_model_with_inline_definition_is_parsed()
    {
        var request = Parse(TreeBody);
        Assert.Null(request.ModelType);
        Assert.NotNull(request.Definition);
        Assert.NotNull(request.DefinitionJson);
        Assert.Equal(["a", "b"], request.Input.FieldNames);
    }

    [Fact]
    public void Model_type_is_read_in_any_case()
    {
        Assert.Equal("onnx", Parse("""{"model_type":" ONNX ","inference_config":{"pass_through":{}}}""").ModelType);
    }

    [Fact]
    public void Pytorch_model_type_is_refused_naming_the_field_and_supported_types()
    {
        var e = Expect.Error(() => Parse("""{"model_type":"pytorch","inference_config":{"pass_through":{}}}"""),
            400, "illegal_argument_exception", "[model_type] [pytorch] is not supported");
        Assert.Contains("only [onnx] and [tree_ensemble] models are supported", e.Reason);
    }

    [Fact]
    public void Lang_ident_model_type_is_refused()
    {
        Expect.Error(() => Parse("""{"model_type":"lang_ident","inference_config":{"pass_through":{}}}"""),
            400, "illegal_argument_exception", "[model_type] [lang_ident] is not supported");
    }

    [Fact]
    public void Unknown_top_level_field_is_refused_with_its_location()
    {
        Expect.Error(() => Parse("""{"foo":1,"model_type":"onnx","inference_config":{"pass_through":{}}}"""),
            400, "x_content_parse_exception", "[1:2] [trained_model_config] unknown field [foo]");
    }

    [Fact]
    public void Misspelt_field_gets_a_suggestion()
    {
        Expect.Error(() => Parse("""{"model_typ":"onnx","inference_config":{"pass_through":{}}}"""),
            400, "x_content_parse_exception", "[1:2] [trained_model_config] unknown field [model_typ] did you mean any of [model_type, model_id]?");
    }

    [Fact]
    public void Value_of_the_wrong_kind_is_refused()
    {
        Expect.Error(() => Parse("""{"model_type":"onnx","description":5,"inference_config":{"pass_through":{}}}"""),
            400, "x_content_parse_exception", "[1:36] [trained_model_config] description doesn't support values of type: VALUE_NUMBER");
    }

    [Fact]
    public void Malformed_json_is_refused()
    {
        Expect.Error(() => Parse("""{"model_type": """), 400, "x_content_parse_exception", "Failed to parse the request body as JSON");
    }

    [Fact]
    public void Content_after_the_body_is_refused()
    {
        Expect.Error(() => Parse(OnnxBody + " {}"), 400, "x_content_parse_exception", "Failed to parse the request body as JSON");
    }

    [Fact]
    public void Duplicate_field_is_refused()
    {
        Expect.Error(() => Parse("""{"model_type":"onnx","model_type":"onnx","inference_config":{"pass_through":{}}}"""),
            400, "x_content_parse_exception", "[1:22] Duplicate field 'model_type'");
    }

    [Fact]
    public void Empty_body_is_refused()
    {
        Expect.Error(() => Parse("  "), 400, "parse_exception", "request body is required");
    }

    [Fact]
    public void Body_that_is_not_an_object_is_refused()
    {
        Expect.Error(() => Parse("[]"), 400, "x_content_parse_exception", "[trained_model_config] Expected START_OBJECT but was: START_ARRAY");
    }

    [Fact]
    public void Model_id_in_body_that_differs_from_the_path_is_refused()
    {
        Expect.Error(() => Parse("""{"model_id":"other","model_type":"onnx","inference_config":{"pass_through":{}}}"""),
            400, "illegal_argument_exception", "Inconsistent model_id; 'other' specified in the body differs from 'my-model' specified as a URL argument");
    }

    [Fact]
    public void Model_id_in_body_equal_to_the_path_is_accepted()
    {
        Assert.Equal("my-model", Parse("""{"model_id":"my-model","model_type":"onnx","inference_config":{"pass_through":{}}}""").ModelId);
    }

    [Fact]
    public void Invalid_model_id_from_the_path_is_refused()
    {
        Expect.Error(() => Parse(OnnxBody, id: "My-Model"), 400, "action_request_validation_exception", "Invalid model_id; 'My-Model'");
    }

    [Fact]
    public void Missing_inference_config_is_refused()
    {
        Expect.Error(() => Parse("""{"model_type":"onnx"}"""), 400, "action_request_validation_exception", "[inference_config] must not be null.");
    }

    [Fact]
    public void Missing_model_type_without_definition_is_refused()
    {
        Expect.Error(() => Parse("""{"input":{"field_names":["a"]},"inference_config":{"regression":{}}}"""),
            400, "action_request_validation_exception", "[model_type] must be set if [definition] is not defined.");
    }

    [Fact]
    public void Tree_model_without_input_is_refused_before_validation()
    {
        Expect.Error(() => Parse("""{"model_type":"tree_ensemble","inference_config":{"regression":{}}}"""),
            400, "illegal_argument_exception", "[input] must not be null.");
    }

    [Fact]
    public void Input_without_field_names_is_refused()
    {
        var e = Expect.Error(() => Parse("""{"model_type":"onnx","input":{},"inference_config":{"pass_through":{}}}"""),
            400, "x_content_parse_exception", "[trained_model_config] failed to parse field [input]");
        e.RootIs("illegal_argument_exception", "Required [field_names]");
    }

    [Fact]
    public void Empty_input_field_names_are_refused()
    {
        Expect.Error(() => Parse("""{"model_type":"onnx","input":{"field_names":[]},"inference_config":{"pass_through":{}}}"""),
            400, "action_request_validation_exception", "[input.field_names] must not be empty");
    }

    [Fact]
    public void Input_field_names_with_empty_dot_segments_are_refused()
    {
        Expect.Error(() => Parse("""{"model_type":"onnx","input":{"field_names":["a..b"]},"inference_config":{"pass_through":{}}}"""),
            400, "action_request_validation_exception", "[input.field_names] must only contain valid dot delimited field names");
    }

    [Theory]
    [InlineData("created_by", "\"me\"")]
    [InlineData("version", "\"8.0.0\"")]
    [InlineData("create_time", "1700000000000")]
    [InlineData("license_level", "\"basic\"")]
    [InlineData("location", "{\"index\":{\"name\":\"x\"}}")]
    [InlineData("model_package", "{}")]
    public void Generated_field_is_not_settable_on_creation(string field, string value)
    {
        Expect.Error(() => Parse("{\"model_type\":\"onnx\",\"" + field + "\":" + value + ""","inference_config":{"pass_through":{}}}"""),
            400, "action_request_validation_exception", $"illegal to set [{field}] at inference model creation");
    }

    [Fact]
    public void Reserved_metadata_keys_are_not_settable_on_creation()
    {
        var e = Expect.Error(() => Parse("""{"model_type":"onnx","metadata":{"total_feature_importance":[],"model_aliases":["a"]},"inference_config":{"pass_through":{}}}"""),
            400, "action_request_validation_exception", "1: illegal to set [metadata.total_feature_importance] at inference model creation;");
        Assert.Contains("2: illegal to set [metadata.model_aliases] at inference model creation;", e.Reason);
    }

    [Fact]
    public void Every_validation_error_is_reported_in_one_response()
    {
        var e = Expect.Error(() => Parse("""{"model_type":"onnx","created_by":"me","tags":["Bad"]}""", id: "Bad-Id"),
            400, "action_request_validation_exception", "1: [inference_config] must not be null.;");
        Assert.Contains("2: Invalid model_id; 'Bad-Id'", e.Reason);
        Assert.Contains("3: Invalid tags [Bad]; must only can contain lowercase alphanumeric", e.Reason);
        Assert.Contains("4: illegal to set [created_by] at inference model creation;", e.Reason);
    }

    [Fact]
    public void Tag_equal_to_the_model_id_is_refused()
    {
        Expect.Error(() => Parse("""{"model_type":"onnx","tags":["my-model"],"inference_config":{"pass_through":{}}}"""),
            400, "action_request_validation_exception", "none of the tags must equal the model_id");
    }

    [Fact]
    public void Single_string_tag_is_taken_as_a_list()
    {
        Assert.Equal(["prod"], Parse("""{"model_type":"onnx","tags":"prod","inference_config":{"pass_through":{}}}""").Tags);
    }

    [Fact]
    public void Negative_model_size_is_refused()
    {
        Expect.Error(() => Parse("""{"model_type":"onnx","model_size_bytes":-1,"inference_config":{"pass_through":{}}}"""),
            400, "illegal_argument_exception", "[model_size_bytes] must be greater than or equal to 0");
    }

    [Fact]
    public void Negative_estimated_operations_are_refused()
    {
        Expect.Error(() => Parse("""{"model_type":"onnx","estimated_operations":-5,"inference_config":{"pass_through":{}}}"""),
            400, "illegal_argument_exception", "[estimated_operations] must be greater than or equal to 0");
    }

    [Fact]
    public void Numeric_strings_are_accepted_for_numbers()
    {
        Assert.Equal(1234, Parse("""{"model_type":"onnx","model_size_bytes":"1234","inference_config":{"pass_through":{}}}""").ModelSizeBytes);
    }

    [Fact]
    public void Deprecated_heap_size_field_sets_model_size_with_a_warning()
    {
        var request = Parse("""{"model_type":"onnx","estimated_heap_memory_usage_bytes":100,"inference_config":{"pass_through":{}}}""");
        Assert.Equal(100, request.ModelSizeBytes);
        Assert.Contains("Deprecated field [estimated_heap_memory_usage_bytes] used, expected [model_size_bytes] instead", request.Warnings);
    }

    [Fact]
    public void Definition_and_compressed_definition_together_are_refused()
    {
        var body = $$$"""{"input":{"field_names":["a","b"]},"inference_config":{"regression":{}},"compressed_definition":"H4sI","definition":{{{TreeDefinition}}} }""";
        var e = Expect.Error(() => Parse(body), 400, "x_content_parse_exception", "[trained_model_config] failed to parse field [definition]");
        e.RootIs("illegal_argument_exception", "both [compressed_definition] and [definition] cannot be set.");
    }

    [Fact]
    public void Invalid_base64_in_compressed_definition_names_the_field()
    {
        var e = Expect.Error(() => Parse("""{"model_type":"tree_ensemble","input":{"field_names":["a"]},"inference_config":{"regression":{}},"compressed_definition":"not base64!"}"""),
            400, "x_content_parse_exception", "failed to parse field [compressed_definition]");
        e.RootIs("illegal_argument_exception", "Illegal base64 character");
    }

    [Fact]
    public void Deferred_compressed_definition_requires_model_size()
    {
        Expect.Error(() => Parse("""{"input":{"field_names":["a"]},"inference_config":{"regression":{}},"compressed_definition":"H4sIAAAAAAAA"}""", defer: true),
            400, "action_request_validation_exception",
            "when [defer_definition_decompression] is true and a compressed definition is provided, model_size_bytes must be set");
    }

    [Fact]
    public void Definition_with_location_is_refused()
    {
        var body = $$$"""{"input":{"field_names":["a","b"]},"inference_config":{"regression":{}},"location":{"index":{"name":"x"}},"definition":{{{TreeDefinition}}} }""";
        Expect.Error(() => Parse(body), 400, "action_request_validation_exception", "[definition] and [location] are both defined but only one can be used.");
    }

    [Fact]
    public void Query_parameters_are_kept()
    {
        var request = PutTrainedModelSettings.Parse("my-model", OnnxBody, deferDefinitionDecompression: true, waitForCompletion: true);
        Assert.True(request.DeferDefinitionDecompression);
        Assert.True(request.WaitForCompletion);
    }

    [Fact]
    public void Comments_in_the_body_are_allowed()
    {
        Assert.Equal("onnx", Parse("""{ /* deployable */ "model_type":"onnx","inference_config":{"pass_through":{}}}""").ModelType);
    }

    [Fact]
    public void Location_prefix_counts_lines_and_columns()
    {
        Expect.Error(() => Parse("{\n  \"model_type\": \"onnx\",\n  \"bogus\": true\n}"), 400, "x_content_parse_exception", "[3:3] [trained_model_config] unknown field [bogus]");
    }

    [Fact]
    public void Prefix_strings_and_platform_architecture_are_kept()
    {
        var request = Parse("""{"model_type":"onnx","platform_architecture":"linux-x86_64","prefix_strings":{"ingest":"passage: ","search":"query: "},"inference_config":{"text_embedding":{}}}""");
        Assert.Equal("linux-x86_64", request.PlatformArchitecture);
        Assert.Equal("query: ", request.PrefixStrings!.Search);
    }

    [Fact]
    public void Default_field_map_and_metadata_are_kept()
    {
        var request = Parse("""{"model_type":"onnx","default_field_map":{"text":"text_field"},"metadata":{"k":[1,2]},"inference_config":{"pass_through":{}}}""");
        Assert.Equal("text_field", request.DefaultFieldMap!["text"]);
        Assert.Equal("[1,2]", request.Metadata!["k"]!.ToJsonString());
    }
}
