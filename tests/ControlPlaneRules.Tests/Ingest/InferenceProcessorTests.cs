using TrainedModelsOrleans.Grains.Errors;
using Xunit;
using static TrainedModelsOrleans.ControlPlaneRules.Tests.Ingest.Simulation;

namespace TrainedModelsOrleans.ControlPlaneRules.Tests.Ingest;

public class InferenceProcessorTests
{
    private const string ThreeDocs = """[{"_source": {"text": "a"}}, {"_source": {"text": "b"}}, {"_source": {"text": "c"}}]""";

    [Fact]
    public async Task The_documents_of_a_request_go_to_the_model_in_one_call_and_results_land_in_the_target()
    {
        var model = new ScriptedModel();
        var answer = await RunAsync("""{"processors": [{"inference": {"model_id": "my-alias"}}]}""", ThreeDocs, inference: model);
        var call = Assert.Single(model.Calls);
        Assert.Equal("my-alias", call.ModelId);
        Assert.Equal(3, call.Documents.Count);
        Assert.False(call.TextInput);
        // The whole document goes, metadata and _ingest included.
        Assert.Equal("_index", call.Documents[0]["_index"]!.GetValue<string>());
        Assert.NotNull(call.Documents[0]["_ingest"]!["timestamp"]);
        Assert.Equal("""{"text":"b","ml":{"inference":{"predicted_value":"b","prediction_probability":0.5,"model_id":"resolved-model"}}}""",
            Json(answer["docs"]![1]!["doc"]!["_source"]));
    }

    [Fact]
    public async Task A_tag_names_the_default_target_and_field_map_renames_inputs()
    {
        var model = new ScriptedModel();
        var source = await SourceAsync("""
            {"processors": [{"inference": {"model_id": "m", "tag": "sentiment", "field_map": {"body.content": "text"},
              "inference_config": {"text_classification": {"num_top_classes": 2}}}}]}
            """, """{"body": {"content": "hi"}}""", model);
        Assert.Equal("hi", source["ml"]!["inference"]!["sentiment"]!["predicted_value"]!.GetValue<string>());
        Assert.Equal("""{"text_classification":{"num_top_classes":2}}""", Json(model.Calls[0].Config));
    }

    [Fact]
    public async Task An_existing_target_gets_the_result_appended()
    {
        var source = await SourceAsync("""{"processors": [{"inference": {"model_id": "m", "target_field": "out"}}]}""",
            """{"text": "x", "out": {"earlier": true}}""");
        Assert.Equal("""[{"earlier":true},{"predicted_value":"x","prediction_probability":0.5,"model_id":"resolved-model"}]""", Json(source["out"]));
    }

    [Fact]
    public async Task Input_output_sends_texts_and_writes_each_output_field()
    {
        var model = new ScriptedModel();
        var answer = await RunAsync("""
            {"processors": [{"inference": {"model_id": "m", "ignore_missing": true, "input_output": [
              {"input_field": "title", "output_field": "ml.title_vector"},
              {"input_field": "body", "output_field": "body_vector"},
              {"input_field": "absent", "output_field": "never"}
            ]}}]}
            """, """[{"_source": {"title": "t1", "body": "b1"}}, {"_source": {"title": "t2"}}]""", inference: model);
        var call = Assert.Single(model.Calls);
        Assert.True(call.TextInput);
        Assert.Equal(["t1", "b1", "t2"], call.Documents.Select(d => d["text_field"]!.GetValue<string>()));
        Assert.Equal("""{"title":"t1","body":"b1","ml":{"title_vector":"t1","prediction_probability":0.5,"model_id":"resolved-model"},"body_vector":"b1","prediction_probability":0.5}""",
            Json(answer["docs"]![0]!["doc"]!["_source"]));
        Assert.Equal("""{"title":"t2","ml":{"title_vector":"t2","prediction_probability":0.5,"model_id":"resolved-model"}}""",
            Json(answer["docs"]![1]!["doc"]!["_source"]));
    }

    [Fact]
    public async Task Input_output_refuses_target_field_and_fails_a_missing_input_without_ignore_missing()
    {
        var e = await Assert.ThrowsAsync<TrainedModelsOrleans.Grains.Pipelines.IngestConfigurationException>(() => RunAsync("""
            {"processors": [{"inference": {"model_id": "m", "target_field": "x", "input_output": [{"input_field": "a", "output_field": "b"}]}}]}
            """, ThreeDocs));
        Assert.StartsWith("[target_field] option is incompatible with [input_output]", e.Reason);
        e = await Assert.ThrowsAsync<TrainedModelsOrleans.Grains.Pipelines.IngestConfigurationException>(() => RunAsync("""
            {"processors": [{"inference": {"model_id": "m", "input_output": [{"input_field": "a", "output_field": "x"}, {"input_field": "a", "output_field": "y"}]}}]}
            """, ThreeDocs));
        Assert.Equal("[input_field] names must be unique but [a] is repeated", e.Reason);
        e = await Assert.ThrowsAsync<TrainedModelsOrleans.Grains.Pipelines.IngestConfigurationException>(() => RunAsync("""
            {"processors": [{"inference": {"model_id": "m", "input_output": true}}]}
            """, ThreeDocs));
        Assert.Equal("[input_output] property isn't a map or list of maps", e.Reason);
        var error = await ErrorAsync("""
            {"processors": [{"inference": {"model_id": "m", "input_output": [{"input_field": "a", "output_field": "b"}]}}]}
            """, "{}");
        Assert.Equal("field [a] not present as part of path [a]", error["reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task Inference_inside_foreach_makes_one_call_per_element_position()
    {
        var model = new ScriptedModel();
        var answer = await RunAsync("""
            {"processors": [{"foreach": {"field": "chunks", "processor": {"inference": {"model_id": "m",
              "field_map": {"_ingest._value.text": "text"}, "target_field": "_ingest._value.result"}}}}]}
            """, """[{"_source": {"chunks": [{"text": "a"}, {"text": "b"}]}}, {"_source": {"chunks": [{"text": "c"}]}}]""", inference: model);
        Assert.Equal([2, 1], model.Calls.Select(c => c.Documents.Count));
        Assert.Equal("b", answer["docs"]![0]!["doc"]!["_source"]!["chunks"]![1]!["result"]!["predicted_value"]!.GetValue<string>());
        Assert.Equal("c", answer["docs"]![1]!["doc"]!["_source"]!["chunks"]![0]!["result"]!["predicted_value"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_missing_model_fails_every_document_with_the_infer_error_in_one_call()
    {
        var model = new ScriptedModel { CallError = ElasticsearchException.NotFound("Could not find trained model [nope]") };
        var answer = await RunAsync("""{"processors": [{"inference": {"model_id": "nope"}}]}""", ThreeDocs, inference: model);
        Assert.Single(model.Calls);
        foreach (var doc in answer["docs"]!.AsArray())
        {
            Assert.Equal("resource_not_found_exception", doc!["error"]!["type"]!.GetValue<string>());
            Assert.Equal("Could not find trained model [nope]", doc["error"]!["reason"]!.GetValue<string>());
        }
    }

    [Fact]
    public async Task A_document_the_model_refuses_fails_alone()
    {
        var model = new ScriptedModel();
        var answer = await RunAsync("""{"processors": [{"inference": {"model_id": "m"}}]}""",
            """[{"_source": {"text": "a"}}, {"_source": {"text": "bad"}}, {"_source": {"text": "c"}}]""", inference: model);
        Assert.NotNull(answer["docs"]![0]!["doc"]);
        Assert.Equal("Input value [bad] is refused", answer["docs"]![1]!["error"]!["reason"]!.GetValue<string>());
        Assert.NotNull(answer["docs"]![2]!["doc"]);
        Assert.Equal(4, model.Calls.Count); // the batch, then one by one
    }

    [Fact]
    public async Task Inference_failures_reach_on_failure_like_any_other()
    {
        var model = new ScriptedModel { CallError = ElasticsearchException.Conflict("Model [m] must be deployed to use. Please deploy with the start trained model deployment API.") };
        var source = await SourceAsync("""
            {"processors": [{"inference": {"model_id": "m", "on_failure": [{"set": {"field": "why", "value": "{{{_ingest.on_failure_message}}}"}}]}}]}
            """, """{"text": "a"}""", model);
        Assert.Equal("Model [m] must be deployed to use. Please deploy with the start trained model deployment API.", source["why"]!.GetValue<string>());
    }
}
