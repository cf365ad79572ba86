using System.IO.Compression;
using System.Text;
using TrainedModelsOrleans.Grains.Models;
using Xunit;

namespace TrainedModelsOrleans.Grains.Tests.Models;

public class TrainedModelCreationTests
{
    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000);

    private static TrainedModelCreated Create(string body, string id = "my-model", bool defer = false) =>
        TrainedModelCreation.Create(PutTrainedModelSettings.Parse(id, body, defer), Now);

    [Fact]
    public void Onnx_model_gets_the_service_defaults_and_the_native_location()
    {
        var config = Create(PutTrainedModelRequestTests.OnnxBody).Config;
        Assert.Equal("onnx", config.ModelType);
        Assert.Equal("api_user", config.CreatedBy);
        Assert.Equal("platinum", config.LicenseLevel);
        Assert.Equal(1_700_000_000_000, config.CreateTime);
        Assert.Equal(".ml-inference-native-000002", config.Location!.Index.Name);
        Assert.False(config.FullyDefined);
        Assert.Equal("pass_through", config.TaskType);
    }

    [Fact]
    public void Tree_model_type_comes_from_the_definition()
    {
        var created = Create(PutTrainedModelRequestTests.TreeBody);
        Assert.Equal("tree_ensemble", created.Config.ModelType);
        Assert.Null(created.Config.Location);
        Assert.True(created.Config.FullyDefined);
        Assert.NotNull(created.Definition);
        // ceil(ln 3) + 2 features
        Assert.Equal(4, created.Config.EstimatedOperations);
        Assert.True(created.Config.ModelSizeBytes > 0);
    }

    [Fact]
    public void Model_type_that_does_not_match_the_definition_is_refused()
    {
        var body = PutTrainedModelRequestTests.TreeBody.Replace("{\"input\"", "{\"model_type\":\"onnx\",\"input\"");
        Expect.Error(() => Create(body), 400, "status_exception", "model_type [onnx] does not match the model definition type [tree_ensemble]");
    }

    [Fact]
    public void Definition_that_fails_validation_is_refused_with_the_rule_as_cause()
    {
        var body = """
            {"input":{"field_names":["a"]},"inference_config":{"regression":{}},
             "definition":{"trained_model":{"tree":{"feature_names":["a"],"tree_structure":[
               {"node_index":0,"split_feature":3,"threshold":1,"left_child":1,"right_child":2},
               {"node_index":1,"leaf_value":[1]},{"node_index":2,"leaf_value":[2]}]}}}}
            """;
        Expect.Error(() => Create(body), 400, "status_exception", "Definition for [my-model] has validation failures.")
            .RootIs("status_exception", "feature index [3] is out of bounds for the [feature_names] array");
    }

    [Fact]
    public void Inference_config_that_cannot_serve_the_target_type_is_refused()
    {
        var body = PutTrainedModelRequestTests.TreeBody.Replace("\"regression\":{}", "\"classification\":{}");
        Expect.Error(() => Create(body), 400, "status_exception",
            "Model [my-model] inference config type [classification] does not support definition target type [regression]");
    }

    [Fact]
    public void Onnx_model_with_a_tree_config_is_refused()
    {
        Expect.Error(() => Create("""{"model_type":"onnx","inference_config":{"regression":{}}}"""), 400, "status_exception",
            "Model [my-model] of type [onnx] cannot use [inference_config] [regression]");
    }

    [Fact]
    public void Tree_model_without_inline_definition_waits_for_parts()
    {
        var config = Create("""{"model_type":"tree_ensemble","input":{"field_names":["a"]},"inference_config":{"classification":{}}}""").Config;
        Assert.Equal(".ml-inference-000005", config.Location!.Index.Name);
        Assert.False(config.FullyDefined);
    }

    [Fact]
    public void Compressed_definition_is_inflated_and_validated()
    {
        var compressed = Gzip(PutTrainedModelRequestTests.TreeDefinition);
        var created = Create($$$"""{"input":{"field_names":["a","b"]},"inference_config":{"regression":{}},"compressed_definition":"{{{compressed}}}"}""");
        Assert.NotNull(created.Definition);
        Assert.Equal("tree_ensemble", created.Config.ModelType);
    }

    [Fact]
    public void Compressed_definition_that_is_not_gzip_is_refused()
    {
        var notGzip = Convert.ToBase64String(Encoding.UTF8.GetBytes("plain text"));
        Expect.Error(() => Create($$$"""{"input":{"field_names":["a"]},"inference_config":{"regression":{}},"compressed_definition":"{{{notGzip}}}"}"""),
            400, "status_exception", "Failed to parse definition for [my-model]");
    }

    [Fact]
    public void Deferred_compressed_definition_is_kept_unparsed()
    {
        var compressed = Gzip(PutTrainedModelRequestTests.TreeDefinition);
        var created = Create($$$"""{"input":{"field_names":["a","b"]},"model_size_bytes":1000,"inference_config":{"regression":{}},"compressed_definition":"{{{compressed}}}"}""", defer: true);
        Assert.Null(created.Definition);
        Assert.Equal(1000, created.Config.ModelSizeBytes);
        Assert.True(created.Config.FullyDefined);
    }

    [Fact]
    public void Model_id_equal_to_an_alias_is_refused()
    {
        var config = Create(PutTrainedModelRequestTests.OnnxBody).Config;
        Expect.Error(() => TrainedModelCreation.CheckIdentifiers(config, new ExistingModels { ModelAliases = new HashSet<string> { "my-model" } }),
            400, "status_exception", "requested model_id [my-model] is the same as an existing model_alias. Model model_aliases and ids must be unique");
    }

    [Fact]
    public void Model_id_equal_to_a_deployment_is_refused()
    {
        var config = Create(PutTrainedModelRequestTests.OnnxBody).Config;
        Expect.Error(() => TrainedModelCreation.CheckIdentifiers(config, new ExistingModels { DeploymentIds = new HashSet<string> { "my-model" } }),
            400, "status_exception", "Cannot create model [my-model] the id is the same as an current model deployment");
    }

    [Fact]
    public void Model_id_used_as_a_tag_is_refused()
    {
        var config = Create(PutTrainedModelRequestTests.OnnxBody).Config;
        Expect.Error(() => TrainedModelCreation.CheckIdentifiers(config, new ExistingModels { Tags = new HashSet<string> { "my-model" } }),
            400, "status_exception", "The provided model_id my-model must not match existing tags.");
    }

    [Fact]
    public void Tag_used_as_a_model_id_is_refused()
    {
        var config = Create("""{"model_type":"onnx","tags":["other","x"],"inference_config":{"pass_through":{}}}""").Config;
        Expect.Error(() => TrainedModelCreation.CheckIdentifiers(config, new ExistingModels { ModelIds = new HashSet<string> { "other" } }),
            400, "status_exception", "The provided tags [other, x] must not match existing model_ids.");
    }

    [Fact]
    public void Existing_model_is_refused_with_resource_already_exists()
    {
        var config = Create(PutTrainedModelRequestTests.OnnxBody).Config;
        Expect.Error(() => TrainedModelCreation.CheckIdentifiers(config, new ExistingModels { ModelIds = new HashSet<string> { "my-model" } }),
            400, "resource_already_exists_exception", "Trained machine learning model [my-model] already exists");
    }

    [Fact]
    public void Free_identifiers_pass()
    {
        var config = Create(PutTrainedModelRequestTests.OnnxBody).Config;
        TrainedModelCreation.CheckIdentifiers(config, new ExistingModels { ModelIds = new HashSet<string> { "another" } });
    }

    [Fact]
    public void Rendered_config_follows_elasticsearch_shape()
    {
        var config = Create("""{"model_type":"onnx","description":"d","tags":["t"],"inference_config":{"pass_through":{}}}""").Config;
        var plain = TrainedModelConfigJson.Render(config);
        Assert.Equal("my-model", (string)plain["model_id"]!);
        Assert.Null(plain["fully_defined"]);
        Assert.Null(plain["task_type"]);
        Assert.Equal(".ml-inference-native-000002", (string)plain["location"]!["index"]!["name"]!);

        var request = GetTrainedModelsSettings.Parse("my-model", new Dictionary<string, string?> { ["include"] = "definition_status", ["exclude_generated"] = "true" });
        var withStatus = TrainedModelConfigJson.Render(config, request);
        Assert.False((bool)withStatus["fully_defined"]!);
        Assert.Null(withStatus["created_by"]);
    }

    [Fact]
    public void Config_round_trips_through_json_storage()
    {
        var config = Create(PutTrainedModelRequestTests.OnnxBody).Config with
        {
            Onnx = new OnnxModelSignature { Inputs = [new OnnxTensorInfo { Name = "input_ids", ElementType = "int64", Shape = [-1, -1] }] },
        };
        var json = System.Text.Json.JsonSerializer.Serialize(config);
        var back = System.Text.Json.JsonSerializer.Deserialize<TrainedModelConfig>(json)!;
        Assert.Equal(config.ModelId, back.ModelId);
        Assert.Equal(config.InferenceConfig.ToJsonString(), back.InferenceConfig.ToJsonString());
        Assert.Equal("input_ids", back.Onnx!.Inputs[0].Name);
        Assert.Contains("\"task_type\":\"pass_through\"", json);
    }

    private static string Gzip(string text)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
            gzip.Write(Encoding.UTF8.GetBytes(text));
        return Convert.ToBase64String(buffer.ToArray());
    }
}
