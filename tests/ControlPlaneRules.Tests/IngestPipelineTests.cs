using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Pipelines;
using Xunit;

namespace TrainedModelsOrleans.ControlPlaneRules.Tests;

public class IngestPipelineTests
{
    [Fact]
    public void Inference_model_ids_are_found_where_es_looks()
    {
        var pipeline = IngestPipeline.Parse("p", """
            {
              "description": "d", "version": 3, "_meta": {"owner": "me"},
              "processors": [
                {"inference": {"model_id": "top", "on_failure": [{"inference": {"model_id": "inside-inference-on-failure"}}]}},
                {"set": {"field": "f", "value": 1, "on_failure": [{"inference": {"model_id": "in-on-failure"}}]}},
                {"foreach": {"field": "list", "processor": {"inference": {"model_id": "in-foreach"}}}},
                {"script": "ctx.x = 1"}
              ],
              "on_failure": [{"inference": {"model_id": "pipeline-on-failure"}}]
            }
            """);
        Assert.Equal(["top", "in-on-failure", "in-foreach"], pipeline.InferenceModelIds);
        Assert.Equal(["description", "version", "_meta", "processors", "on_failure"], pipeline.Body.Select(p => p.Key));
        Assert.Empty(pipeline.Warnings);
    }

    [Fact]
    public void Inference_processor_without_model_id_is_refused()
    {
        var e = Assert.IsType<IngestConfigurationException>(
            Expect.Error(() => IngestPipeline.Parse("p", """{"processors":[{"inference":{"target_field":"x"}}]}"""), 400, "parse_exception",
                "[model_id] required property is missing"));
        Assert.Equal([KeyValuePair.Create("processor_type", "inference"), KeyValuePair.Create("property_name", "model_id")], e.Metadata);
    }

    [Fact]
    public void Model_id_must_be_a_string()
    {
        Expect.Error(() => IngestPipeline.Parse("p", """{"processors":[{"inference":{"model_id":5}}]}"""), 400, "parse_exception",
            "[model_id] property isn't a string, but of type [java.lang.Integer]");
    }

    [Fact]
    public void Processors_are_required_and_must_be_a_list()
    {
        Expect.Error(() => IngestPipeline.Parse("p", """{"description":"x"}"""), 400, "parse_exception", "[processors] required property is missing");
        Expect.Error(() => IngestPipeline.Parse("p", """{"processors":{"set":{}}}"""), 400, "parse_exception",
            "[processors] property isn't a list, but of type [java.util.HashMap]");
    }

    [Fact]
    public void Each_processor_is_an_object_with_one_type()
    {
        Expect.Error(() => IngestPipeline.Parse("p", """{"processors":[{"set":{"field":"a","value":1},"remove":{"field":"b"}}]}"""), 400,
            "parse_exception", "[processors] each processor must be an object with exactly one processor type, found [set, remove]");
        Expect.Error(() => IngestPipeline.Parse("p", """{"processors":["set"]}"""), 400, "parse_exception", "[processors] property isn't a list of maps");
    }

    [Fact]
    public void Unknown_processor_type_is_refused()
    {
        var e = Assert.IsType<IngestConfigurationException>(Expect.Error(() => IngestPipeline.Parse("p", """{"processors":[{"sett":{}}]}"""), 400,
            "parse_exception", "No processor type exists with name [sett]"));
        Assert.Equal("sett", e.ProcessorType);
    }

    [Fact]
    public void Unknown_top_level_fields_and_empty_on_failure_are_refused()
    {
        Expect.Error(() => IngestPipeline.Parse("p", """{"processors":[],"extra":1,"other":2}"""), 400, "parse_exception",
            "pipeline [p] doesn't support one or more provided configuration parameters [extra, other]");
        Expect.Error(() => IngestPipeline.Parse("p", """{"processors":[],"on_failure":[]}"""), 400, "parse_exception",
            "pipeline [p] cannot have an empty on_failure option defined");
        Expect.Error(() => IngestPipeline.Parse("p", """{"processors":[{"set":{"on_failure":[]}}]}"""), 400, "parse_exception",
            "[on_failure] processors list cannot be empty");
    }

    [Fact]
    public void Top_level_types_are_checked()
    {
        Expect.Error(() => IngestPipeline.Parse("p", """{"version":"x","processors":[]}"""), 400, "parse_exception",
            "[version] property cannot be converted to an int [x]");
        Expect.Error(() => IngestPipeline.Parse("p", """{"description":1,"processors":[]}"""), 400, "parse_exception",
            "[description] property isn't a string, but of type [java.lang.Integer]");
        Expect.Error(() => IngestPipeline.Parse("p", """{"_meta":[],"processors":[]}"""), 400, "parse_exception",
            "[_meta] property isn't a map, but of type [java.util.ArrayList]");
    }

    [Fact]
    public void Foreach_needs_exactly_one_processor()
    {
        Expect.Error(() => IngestPipeline.Parse("p", """{"processors":[{"foreach":{"field":"f","processor":{}}}]}"""), 400, "parse_exception",
            "[processor] Must specify exactly one processor type");
        Expect.Error(() => IngestPipeline.Parse("p", """{"processors":[{"foreach":{"field":"f","processor":{"inference":{}}}}]}"""), 400,
            "parse_exception", "[model_id] required property is missing");
    }

    [Fact]
    public void Missing_body_is_refused()
    {
        Expect.Error(() => IngestPipeline.Parse("p", ""), 400, "parse_exception", "request body or source parameter is required");
    }

    [Fact]
    public void Name_es_9_would_refuse_gets_a_warning()
    {
        var pipeline = IngestPipeline.Parse("Invalid*-pipeline:id", """{"processors":[]}""");
        Assert.Equal(["Pipeline name [Invalid*-pipeline:id] will be disallowed in a future version for the following reason: " +
            "must not contain the following characters [' ','\"','*',',','/','<','>','?','\\','|']"], pipeline.Warnings);
    }

    private static readonly Dictionary<string, JsonObject> Stored = new()
    {
        ["b-pipe"] = new JsonObject { ["processors"] = new JsonArray() },
        ["a-pipe"] = new JsonObject { ["description"] = "a", ["processors"] = new JsonArray() },
    };

    [Fact]
    public void Get_returns_the_bodies_keyed_by_id()
    {
        var (status, body) = IngestPipeline.Get("a-pipe", Stored);
        Assert.Equal(200, status);
        Assert.Equal("""{"a-pipe":{"description":"a","processors":[]}}""", body.ToJsonString());
        Assert.Equal(["a-pipe", "b-pipe"], IngestPipeline.Get("*-pipe", Stored).Body.Select(p => p.Key));
        Assert.Equal(["b-pipe", "a-pipe"], IngestPipeline.Get("b-pipe,a*", Stored).Body.Select(p => p.Key));
        Assert.Equal(2, IngestPipeline.Get(null, Stored).Body.Count);
    }

    [Fact]
    public void Get_of_a_missing_pipeline_answers_404_with_an_empty_object()
    {
        var (status, body) = IngestPipeline.Get("missing", Stored);
        Assert.Equal((404, "{}"), (status, body.ToJsonString()));
    }

    [Fact]
    public void Delete_of_a_missing_pipeline_answers_404()
    {
        Expect.Error(() => IngestPipeline.SelectForDelete("missing", Stored.Keys), 404, "resource_not_found_exception", "pipeline [missing] is missing");
        Assert.Empty(IngestPipeline.SelectForDelete("*", []));
        Assert.Equal(["a-pipe", "b-pipe"], IngestPipeline.SelectForDelete("*pipe", Stored.Keys));
    }

    [Fact]
    public void Referenced_ids_join_every_pipeline()
    {
        var one = IngestPipeline.Parse("one", """{"processors":[{"inference":{"model_id":"m1"}}]}""");
        var two = IngestPipeline.Parse("two", """{"processors":[{"inference":{"model_id":"alias-x"}}]}""");
        Assert.True(IngestPipeline.ReferencedModelIds([one, two]).SetEquals(["m1", "alias-x"]));
    }
}
