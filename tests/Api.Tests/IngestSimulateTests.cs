using System.Net;
using System.Text.Json.Nodes;
using TrainedModelsOrleans.TestModels;
using Xunit;

namespace TrainedModelsOrleans.Api.Tests;

/// <summary>POST|GET _ingest/pipeline[/&lt;id&gt;]/_simulate over real Kestrel: ES's answer shapes, per-document errors, inference.</summary>
public sealed class IngestSimulateTests(ServiceFixture service) : IClassFixture<ServiceFixture>
{
    private Task<Response> SimulateAsync(JsonObject pipeline, JsonArray docs, string query = "") =>
        service.PostAsync($"/_ingest/pipeline/_simulate{query}", new JsonObject { ["pipeline"] = pipeline, ["docs"] = docs });

    private static JsonObject Pipeline(params JsonObject[] processors) => new() { ["processors"] = new JsonArray(processors) };

    private static JsonObject Processor(string type, JsonObject config) => new() { [type] = config };

    private static JsonArray Docs(params JsonObject[] sources) =>
        new(sources.Select(s => (JsonNode?)new JsonObject { ["_source"] = s }).ToArray());

    [Fact]
    public async Task Inline_pipeline_runs_set_rename_and_convert_and_answers_elasticsearch_shape()
    {
        var pipeline = Pipeline(
            Processor("set", new JsonObject { ["field"] = "greeting", ["value"] = "hello {{name}}" }),
            Processor("rename", new JsonObject { ["field"] = "name", ["target_field"] = "user.name" }),
            Processor("convert", new JsonObject { ["field"] = "count", ["type"] = "integer" }));
        var docs = new JsonArray(new JsonObject { ["_index"] = "logs", ["_id"] = "1", ["_source"] = new JsonObject { ["name"] = "ann", ["count"] = "42" } });
        var body = (await SimulateAsync(pipeline, docs)).AssertOk().Body;

        var doc = body["docs"]![0]!["doc"]!;
        Assert.Equal("logs", doc["_index"]!.GetValue<string>());
        Assert.Equal("1", doc["_id"]!.GetValue<string>());
        Assert.Equal("-3", doc["_version"]!.GetValue<string>());
        Assert.Equal("""{"count":42,"greeting":"hello ann","user":{"name":"ann"}}""", doc["_source"]!.ToJsonString());
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?Z$", doc["_ingest"]!["timestamp"]!.GetValue<string>());
        Assert.Equal(["timestamp"], doc["_ingest"]!.AsObject().Select(p => p.Key));
    }

    [Fact]
    public async Task Stored_pipeline_simulates_with_post_and_get_and_a_missing_one_is_refused()
    {
        var id = Deployments.NewId("stored");
        (await service.PutAsync($"/_ingest/pipeline/{id}", Pipeline(Processor("uppercase", new JsonObject { ["field"] = "s" })))).AssertOk();
        var request = new JsonObject { ["docs"] = Docs(new JsonObject { ["s"] = "abc" }) };

        foreach (var method in new[] { HttpMethod.Post, HttpMethod.Get })
        {
            var body = (await service.SendAsync(method, $"/_ingest/pipeline/{id}/_simulate", request.DeepClone())).AssertOk().Body;
            Assert.Equal("ABC", body["docs"]![0]!["doc"]!["_source"]!["s"]!.GetValue<string>());
        }
        var verbose = (await service.PostAsync($"/_ingest/pipeline/{id}/_simulate?verbose=true", request.DeepClone())).AssertOk().Body;
        Assert.Equal(id, verbose["docs"]![0]!["processor_results"]![0]!["doc"]!["_ingest"]!["pipeline"]!.GetValue<string>());

        (await service.PostAsync("/_ingest/pipeline/no-such-pipeline/_simulate", request.DeepClone()))
            .AssertError(400, "illegal_argument_exception", "pipeline [no-such-pipeline] does not exist");
        (await service.DeleteAsync($"/_ingest/pipeline/{id}")).AssertOk();
    }

    [Fact]
    public async Task Verbose_lists_every_processor_with_status_and_condition()
    {
        var pipeline = Pipeline(
            Processor("set", new JsonObject { ["field"] = "a", ["value"] = 1, ["tag"] = "first" }),
            Processor("set", new JsonObject { ["field"] = "b", ["value"] = 2, ["if"] = "ctx.a == 2" }),
            Processor("rename", new JsonObject { ["field"] = "missing", ["target_field"] = "x", ["ignore_failure"] = true }),
            Processor("drop", new JsonObject { ["if"] = "ctx.a != null" }));
        var body = (await SimulateAsync(pipeline, Docs(new JsonObject()), "?verbose=true")).AssertOk().Body;
        var results = body["docs"]![0]!["processor_results"]!.AsArray();
        Assert.Equal(["success", "skipped", "error_ignored", "dropped"], results.Select(r => r!["status"]!.GetValue<string>()));
        Assert.Equal("first", results[0]!["tag"]!.GetValue<string>());
        Assert.Equal(1, results[0]!["doc"]!["_source"]!["a"]!.GetValue<int>());
        Assert.Equal("ctx.a == 2", results[1]!["if"]!["condition"]!.GetValue<string>());
        Assert.False(results[1]!["if"]!["result"]!.GetValue<bool>());
        Assert.Equal("field [missing] doesn't exist", results[2]!["ignored_error"]!["error"]!["reason"]!.GetValue<string>());
        Assert.True(results[3]!["if"]!["result"]!.GetValue<bool>());
        Assert.Null(results[3]!["doc"]);
    }

    [Fact]
    public async Task A_failing_document_gets_its_own_error_and_the_others_still_answer()
    {
        var pipeline = Pipeline(Processor("convert", new JsonObject { ["field"] = "n", ["type"] = "integer" }));
        var body = (await SimulateAsync(pipeline, Docs(new JsonObject { ["n"] = "1" }, new JsonObject { ["n"] = "one" }))).AssertOk().Body;
        Assert.Equal(1, body["docs"]![0]!["doc"]!["_source"]!["n"]!.GetValue<int>());
        var error = body["docs"]![1]!["error"]!;
        Assert.Equal("""{"root_cause":[{"type":"illegal_argument_exception","reason":"unable to convert [one] to integer"}],"type":"illegal_argument_exception","reason":"unable to convert [one] to integer"}""",
            error.ToJsonString());
    }

    [Fact]
    public async Task On_failure_handlers_see_the_failure_metadata_and_if_skips_processors()
    {
        var pipeline = Pipeline(
            Processor("fail", new JsonObject
            {
                ["message"] = "no {{kind}}", ["tag"] = "checker", ["if"] = "ctx.kind != 'ok'",
                ["on_failure"] = new JsonArray(Processor("set", new JsonObject
                {
                    ["field"] = "failure",
                    ["value"] = "{{_ingest.on_failure_processor_type}}/{{_ingest.on_failure_processor_tag}}: {{_ingest.on_failure_message}}",
                })),
            }));
        var body = (await SimulateAsync(pipeline, Docs(new JsonObject { ["kind"] = "bad" }, new JsonObject { ["kind"] = "ok" }))).AssertOk().Body;
        // ES names the ConditionalProcessor wrapping a processor with an if as the one that failed.
        Assert.Equal("conditional/checker: no bad", body["docs"]![0]!["doc"]!["_source"]!["failure"]!.GetValue<string>());
        Assert.False(body["docs"]![0]!["doc"]!["_ingest"]!.AsObject().ContainsKey("on_failure_message"));
        Assert.Equal("""{"kind":"ok"}""", body["docs"]![1]!["doc"]!["_source"]!.ToJsonString());
    }

    [Fact]
    public async Task Unsupported_scripts_and_processor_types_are_refused_at_simulate_and_put()
    {
        var script = Pipeline(Processor("script", new JsonObject { ["source"] = "ctx.a = ctx.b.substring(1)" }));
        (await SimulateAsync(script, Docs(new JsonObject())))
            .AssertError(400, "parse_exception", "[source] script [ctx.a = ctx.b.substring(1)] is not supported here");
        (await service.PutAsync($"/_ingest/pipeline/{Deployments.NewId("script")}", script))
            .AssertError(400, "parse_exception", "[source] script [ctx.a = ctx.b.substring(1)] is not supported here");

        var grok = Pipeline(Processor("grok", new JsonObject { ["field"] = "m", ["patterns"] = new JsonArray("%{WORD:w}") }));
        (await service.PutAsync($"/_ingest/pipeline/{Deployments.NewId("grok")}", grok))
            .AssertError(400, "parse_exception", "processor type [grok] is known to Elasticsearch but not supported here");
        (await SimulateAsync(grok, Docs(new JsonObject())))
            .AssertError(400, "parse_exception", "processor type [grok] is known to Elasticsearch but not supported here");
        (await SimulateAsync(Pipeline(Processor("no_such_thing", new JsonObject())), Docs(new JsonObject())))
            .AssertError(400, "parse_exception", "No processor type exists with name [no_such_thing]");
        (await service.PostAsync("/_ingest/pipeline/_simulate", new JsonObject { ["pipeline"] = Pipeline() }))
            .AssertError(400, "parse_exception", "[docs] required property is missing");
    }

    [Fact]
    public async Task Inference_processor_runs_a_deployed_text_model_as_infer_does()
    {
        var model = await UploadTextModelAsync();
        var alias = "ingest-alias-" + Guid.NewGuid().ToString("N")[..6] + "x";
        (await service.PutAsync($"/_ml/trained_models/{model}/model_aliases/{alias}")).AssertOk();
        var expected = (await service.PostAsync($"/_ml/trained_models/{model}/_infer",
            new JsonObject { ["docs"] = new JsonArray(new JsonObject { ["input"] = "hello world" }) })).AssertOk().Body["inference_results"]![0]!;

        var pipeline = Pipeline(Processor("inference", new JsonObject { ["model_id"] = alias, ["tag"] = "cls" }));
        var body = (await SimulateAsync(pipeline, Docs(new JsonObject { ["input"] = "hello world" }, new JsonObject { ["input"] = "hello world" })))
            .AssertOk().Body;
        foreach (var doc in body["docs"]!.AsArray())
        {
            var result = doc!["doc"]!["_source"]!["ml"]!["inference"]!["cls"]!;
            Assert.Equal(expected["predicted_value"]!.GetValue<string>(), result["predicted_value"]!.GetValue<string>());
            Assert.Equal(model, result["model_id"]!.GetValue<string>());
        }

        var inputOutput = Pipeline(Processor("inference", new JsonObject
        {
            ["model_id"] = model,
            ["input_output"] = new JsonArray(new JsonObject { ["input_field"] = "title", ["output_field"] = "results.title_class" }),
        }));
        var io = (await SimulateAsync(inputOutput, Docs(new JsonObject { ["title"] = "hello world" }))).AssertOk().Body;
        var results = io["docs"]![0]!["doc"]!["_source"]!["results"]!;
        Assert.Equal(expected["predicted_value"]!.GetValue<string>(), results["title_class"]!.GetValue<string>());
        Assert.Equal(model, results["model_id"]!.GetValue<string>());

        (await service.DeleteAsync($"/_ml/trained_models/{model}/model_aliases/{alias}")).AssertOk();
        (await service.StopAsync(model)).AssertOk();
    }

    [Fact]
    public async Task Inference_processor_evaluates_a_tree_model()
    {
        var tree = Deployments.NewId("tree");
        (await service.PutAsync($"/_ml/trained_models/{tree}", ModelUploads.TreeModel())).AssertOk();
        var pipeline = Pipeline(Processor("inference", new JsonObject { ["model_id"] = tree, ["target_field"] = "prediction" }));
        var body = (await SimulateAsync(pipeline, Docs(new JsonObject { ["col1"] = 3 }, new JsonObject { ["col1"] = 7 }))).AssertOk().Body;
        Assert.Equal(1.0, body["docs"]![0]!["doc"]!["_source"]!["prediction"]!["predicted_value"]!.GetValue<double>());
        Assert.Equal(2.0, body["docs"]![1]!["doc"]!["_source"]!["prediction"]!["predicted_value"]!.GetValue<double>());
        Assert.Equal(tree, body["docs"]![1]!["doc"]!["_source"]!["prediction"]!["model_id"]!.GetValue<string>());
    }

    [Fact]
    public async Task Foreach_with_an_inference_processor_is_stored_with_its_model_and_runs_each_element()
    {
        var tree = Deployments.NewId("tree");
        (await service.PutAsync($"/_ml/trained_models/{tree}", ModelUploads.TreeModel())).AssertOk();
        var id = Deployments.NewId("rows");
        (await service.PutAsync($"/_ingest/pipeline/{id}", Pipeline(Processor("foreach", new JsonObject
        {
            ["field"] = "rows",
            ["processor"] = Processor("inference", new JsonObject
            {
                ["model_id"] = tree, ["field_map"] = new JsonObject { ["_ingest._value.x"] = "col1" }, ["target_field"] = "_ingest._value.prediction",
            }),
        })))).AssertOk();
        Assert.Equal(1, await service.CountAsync("SELECT count(*) FROM pipeline_model_refs WHERE pipeline_id = $1 AND model_id = $2", id, tree));

        var rows = new JsonArray(new JsonObject { ["x"] = 3 }, new JsonObject { ["x"] = 7 });
        var body = (await service.PostAsync($"/_ingest/pipeline/{id}/_simulate", new JsonObject { ["docs"] = Docs(new JsonObject { ["rows"] = rows }) }))
            .AssertOk().Body;
        var results = body["docs"]![0]!["doc"]!["_source"]!["rows"]!;
        Assert.Equal(1.0, results[0]!["prediction"]!["predicted_value"]!.GetValue<double>());
        Assert.Equal(2.0, results[1]!["prediction"]!["predicted_value"]!.GetValue<double>());
        (await service.DeleteAsync($"/_ingest/pipeline/{id}")).AssertOk();
    }

    [Fact]
    public async Task Missing_and_undeployed_models_fail_each_document_with_the_infer_errors()
    {
        var missing = (await SimulateAsync(Pipeline(Processor("inference", new JsonObject { ["model_id"] = "no-such-model" })),
            Docs(new JsonObject { ["input"] = "a" }, new JsonObject { ["input"] = "b" }))).AssertOk().Body;
        foreach (var doc in missing["docs"]!.AsArray())
        {
            Assert.Equal("resource_not_found_exception", doc!["error"]!["type"]!.GetValue<string>());
            Assert.Equal("Could not find trained model [no-such-model]", doc["error"]!["reason"]!.GetValue<string>());
        }

        var undeployed = await service.UploadModelAsync("undeployed");
        var body = (await SimulateAsync(Pipeline(Processor("inference", new JsonObject { ["model_id"] = undeployed })),
            Docs(new JsonObject { ["input"] = "a" }))).AssertOk().Body;
        Assert.Equal("status_exception", body["docs"]![0]!["error"]!["type"]!.GetValue<string>());
        Assert.Equal($"Model [{undeployed}] must be deployed to use. Please deploy with the start trained model deployment API.",
            body["docs"]![0]!["error"]!["reason"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, (await service.DeleteAsync($"/_ml/trained_models/{undeployed}")).Status);
    }

    private static JsonArray Vocabulary() =>
        new(new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world" }
            .Concat(Enumerable.Range(7, 993).Select(i => $"w{i}")).Select(t => (JsonNode?)t).ToArray());

    /// <summary>A started text_classification model over the test text model (input field <c>input</c>).</summary>
    private async Task<string> UploadTextModelAsync()
    {
        var id = Deployments.NewId("ingest-text");
        var config = ModelUploads.OnnxConfig(task: "text_classification");
        config["inference_config"] = new JsonObject
        {
            ["text_classification"] = new JsonObject
            {
                ["classification_labels"] = new JsonArray("a", "b", "c", "d", "e", "f", "g", "h"),
            },
        };
        (await service.PutAsync($"/_ml/trained_models/{id}", config)).AssertOk();
        (await service.PutAsync($"/_ml/trained_models/{id}/definition/0", ModelUploads.Parts(TestOnnxModels.Text(attentionMask: true), 1)[0])).AssertOk();
        (await service.PutAsync($"/_ml/trained_models/{id}/vocabulary", new JsonObject { ["vocabulary"] = Vocabulary() })).AssertOk();
        (await service.StartAsync(id)).AssertOk();
        return id;
    }
}
