using System.Text.Json.Nodes;
using Xunit;
using static TrainedModelsOrleans.ControlPlaneRules.Tests.Ingest.Simulation;

namespace TrainedModelsOrleans.ControlPlaneRules.Tests.Ingest;

/// <summary>Conditions, on_failure, ignore_failure and verbose results, as ES's CompoundProcessor and simulate service run them.</summary>
public class FlowTests
{
    [Theory]
    [InlineData("ctx.a != null", true)]
    [InlineData("ctx.missing == null", true)]
    [InlineData("ctx.n > 4 && ctx.n <= 5", true)]
    [InlineData("ctx.n == 5.0", true)]
    [InlineData("ctx.s == 'x' || ctx.s == \"y\"", true)]
    [InlineData("!(ctx.b == true)", false)]
    [InlineData("ctx.b", true)]
    [InlineData("ctx.x?.p?.q == null", true)]
    [InlineData("ctx.o?.p == 'deep'", true)]
    [InlineData("ctx.o.p == 'deep'", true)]
    [InlineData("ctx['s'] != 'x'", false)]
    [InlineData("ctx.list[1] == 2", true)]
    [InlineData("ctx.n >= -1", true)]
    public async Task Conditions_of_the_subset_decide_whether_a_processor_runs(string condition, bool runs)
    {
        var pipeline = new JsonObject
        {
            ["processors"] = new JsonArray(new JsonObject { ["set"] = new JsonObject { ["field"] = "ran", ["value"] = true, ["if"] = condition } }),
        }.ToJsonString();
        var source = await SourceAsync(pipeline, """{"a": 1, "n": 5, "s": "x", "b": true, "o": {"p": "deep"}, "list": [1, 2]}""");
        Assert.Equal(runs, source.AsObject().ContainsKey("ran"));
    }

    [Fact]
    public async Task A_condition_that_fails_at_run_time_fails_the_document()
    {
        var error = await ErrorAsync("""{"processors": [{"set": {"field": "x", "value": 1, "if": "ctx.a.b == 1"}}]}""", "{}");
        Assert.Equal("script_exception", error["type"]!.GetValue<string>());
        Assert.Equal("runtime error", error["reason"]!.GetValue<string>());
        Assert.Equal("null_pointer_exception", error["caused_by"]!["type"]!.GetValue<string>());
    }

    [Fact]
    public async Task Processor_on_failure_sees_the_failure_metadata_which_is_removed_afterwards()
    {
        var source = await SourceAsync("""
            {"processors": [
              {"rename": {"field": "missing", "target_field": "x", "tag": "my-rename",
                "on_failure": [
                  {"set": {"field": "error.message", "value": "{{_ingest.on_failure_message}}"}},
                  {"set": {"field": "error.type", "value": "{{_ingest.on_failure_processor_type}}"}},
                  {"set": {"field": "error.tag", "value": "{{_ingest.on_failure_processor_tag}}"}}
                ]}},
              {"set": {"field": "after", "value": "{{_ingest.on_failure_message}}"}}
            ]}
            """, "{}");
        Assert.Equal("""{"error":{"message":"field [missing] doesn't exist","type":"rename","tag":"my-rename"},"after":""}""", Json(source));
    }

    [Fact]
    public async Task A_failure_behind_an_if_is_named_conditional_outside_verbose_mode()
    {
        const string pipeline = """
            {"processors": [{"rename": {"field": "m", "target_field": "x", "if": "ctx.go == true",
              "on_failure": [{"set": {"field": "t", "value": "{{_ingest.on_failure_processor_type}}"}}]}}]}
            """;
        Assert.Equal("conditional", (await SourceAsync(pipeline, """{"go": true}"""))["t"]!.GetValue<string>());
        var verbose = await RunAsync(pipeline, """[{"_source": {"go": true}}]""", verbose: true);
        var results = verbose["docs"]![0]!["processor_results"]!.AsArray();
        Assert.Equal(["error", "success"], results.Select(r => r!["status"]!.GetValue<string>()));
        Assert.Equal("rename", results[1]!["doc"]!["_source"]!["t"]!.GetValue<string>());
    }

    [Fact]
    public async Task Pipeline_on_failure_handles_any_processor_failure()
    {
        var answer = await RunAsync("""
            {"processors": [{"set": {"field": "before", "value": 1}}, {"fail": {"message": "stop", "tag": "f1"}}, {"set": {"field": "never", "value": 1}}],
             "on_failure": [{"set": {"field": "handled", "value": "{{_ingest.on_failure_processor_type}}:{{_ingest.on_failure_processor_tag}}:{{_ingest.on_failure_message}}"}}]}
            """, """[{"_source": {}}]""");
        var doc = answer["docs"]![0]!["doc"]!;
        Assert.Equal("""{"before":1,"handled":"fail:f1:stop"}""", Json(doc["_source"]));
        Assert.Equal("""{"timestamp":"1970-01-01T00:00Z"}""", Json(doc["_ingest"]));
    }

    [Fact]
    public async Task A_failing_on_failure_handler_fails_the_document_with_its_own_error()
    {
        var error = await ErrorAsync("""
            {"processors": [{"fail": {"message": "first", "on_failure": [{"fail": {"message": "second"}}]}}]}
            """, "{}");
        Assert.Equal("second", error["reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task One_failing_document_does_not_stop_the_others()
    {
        var answer = await RunAsync("""{"processors": [{"convert": {"field": "n", "type": "integer"}}]}""",
            """[{"_source": {"n": "1"}}, {"_source": {"n": "x"}}, {"_source": {"n": "3"}}]""");
        Assert.Equal(1, answer["docs"]![0]!["doc"]!["_source"]!["n"]!.GetValue<int>());
        Assert.Equal("illegal_argument_exception", answer["docs"]![1]!["error"]!["root_cause"]![0]!["type"]!.GetValue<string>());
        Assert.Equal(3, answer["docs"]![2]!["doc"]!["_source"]!["n"]!.GetValue<int>());
    }

    [Fact]
    public async Task Verbose_results_give_each_processor_status_tag_condition_and_document()
    {
        var answer = await RunAsync("""
            {"processors": [
              {"set": {"field": "a", "value": 1, "tag": "t1", "description": "first"}},
              {"set": {"field": "b", "value": 2, "if": "ctx.a == 2"}},
              {"rename": {"field": "missing", "target_field": "x", "ignore_failure": true}},
              {"rename": {"field": "missing", "target_field": "x", "on_failure": [{"set": {"field": "handled", "value": true}}]}},
              {"drop": {"if": "ctx.a == 1"}},
              {"set": {"field": "never", "value": 1}}
            ]}
            """, """[{"_source": {}, "_index": "idx", "_id": 7}]""", verbose: true);
        var results = answer["docs"]![0]!["processor_results"]!.AsArray();
        Assert.Equal(["success", "skipped", "error_ignored", "error", "success", "dropped"], results.Select(r => r!["status"]!.GetValue<string>()));
        Assert.Equal(["set", "set", "rename", "rename", "set", "drop"], results.Select(r => r!["processor_type"]!.GetValue<string>()));

        var first = results[0]!;
        Assert.Equal("t1", first["tag"]!.GetValue<string>());
        Assert.Equal("first", first["description"]!.GetValue<string>());
        Assert.Equal("idx", first["doc"]!["_index"]!.GetValue<string>());
        Assert.Equal("7", first["doc"]!["_id"]!.GetValue<string>());
        Assert.Equal("-3", first["doc"]!["_version"]!.GetValue<string>());
        Assert.Equal("_simulate_pipeline", first["doc"]!["_ingest"]!["pipeline"]!.GetValue<string>());

        Assert.Equal("""{"condition":"ctx.a == 2","result":false}""", Json(results[1]!["if"]));
        Assert.Null(results[1]!["doc"]);
        Assert.Equal("field [missing] doesn't exist", results[2]!["ignored_error"]!["error"]!["reason"]!.GetValue<string>());
        Assert.NotNull(results[2]!["doc"]);
        Assert.Equal("illegal_argument_exception", results[3]!["error"]!["type"]!.GetValue<string>());
        Assert.Null(results[3]!["doc"]);
        Assert.Equal("rename", results[4]!["doc"]!["_ingest"]!["on_failure_processor_type"]!.GetValue<string>());
        Assert.Equal("""{"condition":"ctx.a == 1","result":true}""", Json(results[5]!["if"]));
        Assert.Null(results[5]!["doc"]);
    }

    [Fact]
    public async Task Documents_get_elasticsearch_defaults_and_request_errors_are_elasticsearch_texts()
    {
        var answer = await RunAsync("""{"processors": [{"set": {"field": "a", "value": 1}}]}""", """[{"_source": {"x": 1}}]""");
        Assert.Equal("""{"_index":"_index","_id":"_id","_version":"-3","_source":{"x":1,"a":1},"_ingest":{"timestamp":"1970-01-01T00:00Z"}}""",
            Json(answer["docs"]![0]!["doc"]));

        var pipeline = """{"processors": [{"set": {"field": "a", "value": 1}}]}""";
        Expect.Error(() => RunAsync(pipeline, "[]").GetAwaiter().GetResult(), 400, "illegal_argument_exception", "must specify at least one document in [docs]");
        Expect.Error(() => RunAsync(pipeline, """[{"_id": "x"}]""").GetAwaiter().GetResult(), 400, "parse_exception", "[_source] required property is missing");
        Expect.Error(() => RunAsync(pipeline, """["x"]""").GetAwaiter().GetResult(), 400, "illegal_argument_exception",
            "malformed [docs] section, should include an inner object");
        Expect.Error(() => SimulateRequest("""{"docs": [{"_source": {}}]}"""), 400, "parse_exception", "[pipeline] required property is missing");
        Expect.Error(() => SimulateRequest("""{"pipeline": {"processors": []}}"""), 400, "parse_exception", "[docs] required property is missing");
        Expect.Error(() => SimulateRequest(""), 400, "parse_exception", "request body or source parameter is required");
    }

    private static TrainedModelsOrleans.Grains.Ingest.SimulateRequest SimulateRequest(string body) =>
        TrainedModelsOrleans.Grains.Ingest.SimulateRequest.Parse(System.Text.Encoding.UTF8.GetBytes(body), storedPipeline: false, DateTimeOffset.UnixEpoch);
}
