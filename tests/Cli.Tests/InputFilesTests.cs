using System.Text.Json.Nodes;
using TrainedModelsOrleans.Cli.Service;
using TrainedModelsOrleans.Cli.Tensors;
using TrainedModelsOrleans.Cli.Upload;
using Xunit;

namespace TrainedModelsOrleans.Cli.Tests;

/// <summary>The files and options the tool turns into request bodies, headers and query strings.</summary>
public sealed class InputFilesTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("tmo-cli-inputs").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Write(string name, string text)
    {
        var path = Path.Combine(_folder, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void A_text_vocabulary_is_one_token_a_line_and_merges_skip_their_version_line()
    {
        var body = VocabularyFile.Read(Write("vocab.txt", "[PAD]\n[UNK]\nhello\n"), Write("merges.txt", "#version: 0.2\nh e\nhe llo\n"));
        Assert.Equal("""{"vocabulary":["[PAD]","[UNK]","hello"],"merges":["h e","he llo"]}""", body.ToJsonString());
    }

    [Fact]
    public void A_json_vocabulary_is_the_whole_body_or_a_token_array_and_scores_are_numbers()
    {
        Assert.Equal("""{"vocabulary":["a"],"merges":[]}""", VocabularyFile.Read(Write("v.json", """{"vocabulary":["a"],"merges":[]}""")).ToJsonString());
        Assert.Equal("""{"vocabulary":["a","b"],"scores":[-1.5,0]}""",
            VocabularyFile.Read(Write("tokens.json", """["a","b"]"""), scoresPath: Write("scores.txt", "-1.5\n0\n")).ToJsonString());
    }

    [Fact]
    public void A_task_type_makes_an_onnx_config_as_eland_does()
    {
        var config = ModelConfig.ForTask("text_classification", "text_field", ["neg", "pos"], "bert", null);
        Assert.Equal("""{"model_type":"onnx","input":{"field_names":["text_field"]},"inference_config":{"text_classification":{"classification_labels":["neg","pos"],"tokenization":{"bert":{}}}}}""",
            config.ToJsonString());
        Assert.Equal("onnx", ModelConfig.FromFile(Write("config.json", """{"inference_config":{"pass_through":{}}}"""))["model_type"]!.ToString());
    }

    [Fact]
    public void Tensor_files_become_one_document()
    {
        Assert.Equal("""{"docs":[{"tensor":{"shape":[1],"data":[2]}}]}""",
            InferRequestBody.ForTensorJson(JsonNode.Parse("""{"shape":[1],"data":[2]}""")).ToJsonString());
        Assert.Equal("""{"docs":[{"tensors":{"x":{"shape":[1],"data":[2]}}}]}""",
            InferRequestBody.ForTensorJson(JsonNode.Parse("""{"tensors":{"x":{"shape":[1],"data":[2]}}}""")).ToJsonString());
        Assert.Equal("""{"docs":[{"a":1}]}""", InferRequestBody.ForTensorJson(JsonNode.Parse("""{"docs":[{"a":1}]}""")).ToJsonString());
        Assert.Throws<FormatException>(() => InferRequestBody.ForTensorJson(JsonNode.Parse("[1,2]")));
    }

    [Fact]
    public void Credentials_go_as_basic_or_api_key_headers_and_start_settings_as_the_query()
    {
        Assert.Null(new ServiceConnection(ServiceConnection.DefaultUrl).Authorization);
        Assert.Equal("Basic ZWxhc3RpYzpzM2NyZXQ=", new ServiceConnection(ServiceConnection.DefaultUrl, "elastic", "s3cret").Authorization!.ToString());
        Assert.Equal("ApiKey abc==", new ServiceConnection(ServiceConnection.DefaultUrl, "elastic", "x", "abc==").Authorization!.ToString());
        Assert.Equal("?deployment_id=d%201&number_of_allocations=2&priority=low&wait_for=started",
            new DeploymentSettings { DeploymentId = "d 1", NumberOfAllocations = 2, Priority = "low", WaitFor = "started" }.ToQueryString());
        Assert.Equal("", new DeploymentSettings().ToQueryString());
    }
}
