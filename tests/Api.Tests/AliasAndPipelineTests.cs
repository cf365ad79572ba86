using System.Net;
using System.Text.Json.Nodes;
using Xunit;

namespace TrainedModelsOrleans.Api.Tests;

public sealed class AliasAndPipelineTests(ServiceFixture service) : IClassFixture<ServiceFixture>
{
    private Task<Response> PutAliasAsync(string model, string alias, string query = "") =>
        service.PutAsync($"/_ml/trained_models/{model}/model_aliases/{alias}{(query.Length > 0 ? "?" + query : "")}");

    [Fact]
    public async Task Alias_resolves_in_get_and_moves_between_deployed_models()
    {
        var first = await service.UploadModelAsync("first");
        var second = await service.UploadModelAsync("second");
        (await service.StartAsync(first)).AssertOk();
        (await service.StartAsync(second)).AssertOk();
        var alias = Deployments.NewId("alias") + "x";

        Assert.True((await PutAliasAsync(first, alias)).AssertOk().Body["acknowledged"]!.GetValue<bool>());
        var byAlias = (await service.GetAsync($"/_ml/trained_models/{alias}")).AssertOk().Body;
        Assert.Equal(first, byAlias["trained_model_configs"]![0]!["model_id"]!.GetValue<string>());

        (await PutAliasAsync(second, alias))
            .AssertError(400, "status_exception", $"cannot assign model_alias [{alias}] to model_id [{second}] as model_alias already refers to [{first}]. Set parameter [reassign] to [true] if model_alias should be reassigned.");
        (await PutAliasAsync(second, alias, "reassign=true")).AssertOk();
        Assert.Equal(1, await service.CountAsync("SELECT count(*) FROM ml_ids WHERE id = $1 AND kind = 'alias' AND model_id = $2", alias, second));

        (await service.StopAsync(first, "force=true")).AssertOk();
        (await service.StopAsync(second, "force=true")).AssertOk();
    }

    [Fact]
    public async Task Alias_rules_refuse_bad_names_and_moves_that_break_the_type_rules()
    {
        var onnx = await service.UploadModelAsync("onnx");
        // Ends in a letter, so that it is a valid alias name and the namespace rule is what refuses it.
        var undeployed = await service.UploadModelAsync(id: Deployments.NewId("undeployed") + "x");
        var tree = Deployments.NewId("tree");
        (await service.PutAsync($"/_ml/trained_models/{tree}", ModelUploads.TreeModel())).AssertOk();

        (await PutAliasAsync(onnx, "ends-in-digits1"))
            .AssertError(400, "action_request_validation_exception", "Invalid model_alias; 'ends-in-digits1' can contain lowercase alphanumeric (a-z and 0-9), hyphens or underscores; must start with alphanumeric and cannot end with numbers");
        (await PutAliasAsync(onnx, onnx)).AssertError(400, "action_request_validation_exception", $"model_alias [{onnx}] cannot equal model_id [{onnx}]");
        (await PutAliasAsync(onnx, undeployed)).AssertError(400, "status_exception", "model_alias cannot be the same as an existing trained model_id");
        (await PutAliasAsync("missing-model", "some-alias")).AssertError(404, "resource_not_found_exception", "No known trained model with model_id [missing-model]");

        var alias = "typed-alias-" + Guid.NewGuid().ToString("N")[..6] + "x";
        (await service.StartAsync(onnx)).AssertOk();
        (await PutAliasAsync(onnx, alias)).AssertOk();
        (await PutAliasAsync(tree, alias, "reassign=true"))
            .AssertError(400, "status_exception", $"cannot reassign model_alias [{alias}] to model [{tree}] with inference config type [regression] from model [{onnx}] with type [pass_through]");
        (await PutAliasAsync(undeployed, alias, "reassign=true"))
            .AssertError(400, "status_exception", $"cannot reassign model_alias [{alias}] to model [{undeployed}] from model [{onnx}] as it is not yet deployed");
        Assert.Equal(1, await service.CountAsync("SELECT count(*) FROM ml_ids WHERE id = $1 AND model_id = $2", alias, onnx));

        (await service.DeleteAsync($"/_ml/trained_models/{undeployed}/model_aliases/{alias}"))
            .AssertError(409, "status_exception", $"model_alias [{alias}] does not refer to provided model_id [{undeployed}]");
        (await service.DeleteAsync($"/_ml/trained_models/{onnx}/model_aliases/{alias}")).AssertOk();
        (await service.DeleteAsync($"/_ml/trained_models/{onnx}/model_aliases/{alias}"))
            .AssertError(404, "status_exception", $"model_alias [{alias}] could not be found");
        (await service.StopAsync(onnx)).AssertOk();
    }

    [Fact]
    public async Task Concurrent_alias_moves_leave_the_alias_on_exactly_one_model_of_the_right_kind()
    {
        var models = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var model = await service.UploadModelAsync("target");
            (await service.StartAsync(model)).AssertOk();
            models.Add(model);
        }
        var tree = Deployments.NewId("tree");
        (await service.PutAsync($"/_ml/trained_models/{tree}", ModelUploads.TreeModel())).AssertOk();
        var alias = "moving-" + Guid.NewGuid().ToString("N")[..6] + "x";
        (await PutAliasAsync(models[0], alias)).AssertOk();

        var random = new Random(11);
        for (var round = 0; round < 10; round++)
        {
            var moves = Enumerable.Range(0, 8).Select(_ =>
            {
                var target = random.Next(4) == 0 ? tree : models[random.Next(models.Count)];
                return Task.Run(() => PutAliasAsync(target, alias, "reassign=true"));
            }).ToArray();
            var responses = await Task.WhenAll(moves);
            Assert.All(responses, r => Assert.True(r.Status is HttpStatusCode.OK or HttpStatusCode.BadRequest, r.Text));
            Assert.Equal(1, await service.CountAsync("SELECT count(*) FROM ml_ids WHERE id = $1", alias));
            Assert.Equal(1, await service.CountAsync("SELECT count(*) FROM ml_ids WHERE id = $1 AND kind = 'alias' AND model_id = ANY($2)", alias, (object)models.ToArray()));
        }
        foreach (var model in models) (await service.StopAsync(model)).AssertOk();
    }

    [Fact]
    public async Task Pipelines_are_stored_returned_and_record_inference_model_references()
    {
        var id = Deployments.NewId("pipe");
        var body = new JsonObject
        {
            ["description"] = "inference",
            ["processors"] = new JsonArray(
                new JsonObject { ["set"] = new JsonObject { ["field"] = "a", ["value"] = 1 } },
                new JsonObject { ["inference"] = new JsonObject { ["model_id"] = "some-model" } }),
        };
        (await service.PutAsync($"/_ingest/pipeline/{id}", body)).AssertOk();
        var got = (await service.GetAsync($"/_ingest/pipeline/{id}")).AssertOk().Body;
        Assert.Equal("inference", got[id]!["description"]!.GetValue<string>());
        Assert.Equal(1, await service.CountAsync("SELECT count(*) FROM pipeline_model_refs WHERE pipeline_id = $1 AND model_id = 'some-model'", id));

        var missing = await service.GetAsync("/_ingest/pipeline/no-such-pipeline");
        Assert.Equal(HttpStatusCode.NotFound, missing.Status);
        Assert.Equal("{}", missing.Text);

        var noModel = new JsonObject { ["processors"] = new JsonArray(new JsonObject { ["inference"] = new JsonObject() }) };
        var refused = await service.PutAsync($"/_ingest/pipeline/{id}-bad", noModel);
        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.Contains("[model_id] required property is missing", refused.Text);

        (await service.DeleteAsync($"/_ingest/pipeline/{id}")).AssertOk();
        Assert.Equal(0, await service.CountAsync("SELECT count(*) FROM pipeline_model_refs WHERE pipeline_id = $1", id));
        (await service.DeleteAsync($"/_ingest/pipeline/{id}")).AssertError(404, "resource_not_found_exception", $"pipeline [{id}] is missing");
    }

    [Fact]
    public async Task Stop_is_refused_while_an_alias_of_the_model_is_used_by_a_pipeline()
    {
        var model = await service.UploadModelAsync();
        (await service.StartAsync(model)).AssertOk();
        var alias = "piped-" + Guid.NewGuid().ToString("N")[..6] + "x";
        (await PutAliasAsync(model, alias)).AssertOk();
        var pipeline = Deployments.NewId("via-alias");
        (await service.PutAsync($"/_ingest/pipeline/{pipeline}", new JsonObject
        {
            ["processors"] = new JsonArray(new JsonObject { ["inference"] = new JsonObject { ["model_id"] = alias } }),
        })).AssertOk();

        (await service.StopAsync(model)).AssertError(409, "status_exception",
            $"Cannot stop deployment [{model}] as it has a model_alias [{alias}] that is still referenced by ingest processors; use force to stop the deployment");
        (await service.DeleteAsync($"/_ml/trained_models/{model}/model_aliases/{alias}"))
            .AssertError(409, "status_exception", $"Cannot delete model_alias [{alias}] as it is still referenced by ingest processors");
        (await service.DeleteAsync($"/_ingest/pipeline/{pipeline}")).AssertOk();
        (await service.StopAsync(model)).AssertOk();
    }

    [Fact]
    public async Task Stats_show_deployment_routing_and_allocation_status()
    {
        var model = await service.UploadModelAsync();
        (await service.StartAsync(model, "number_of_allocations=2")).AssertOk();
        var body = (await service.GetAsync($"/_ml/trained_models/{model}/_stats")).AssertOk().Body;
        Assert.Equal(1, body["count"]!.GetValue<int>());
        var stats = body["trained_model_stats"]![0]!["deployment_stats"]!;
        Assert.Equal("started", stats["state"]!.GetValue<string>());
        Assert.Equal(2, stats["allocation_status"]!["allocation_count"]!.GetValue<int>());
        Assert.Equal("fully_allocated", stats["allocation_status"]!["state"]!.GetValue<string>());
        var node = stats["nodes"]![0]!;
        Assert.Equal("started", node["routing_state"]!["routing_state"]!.GetValue<string>());
        Assert.Equal(2, node["number_of_allocations"]!.GetValue<int>());
        (await service.StopAsync(model)).AssertOk();

        var undeployed = (await service.GetAsync($"/_ml/trained_models/{model}/_stats")).AssertOk().Body["trained_model_stats"]![0]!;
        Assert.Null(undeployed["deployment_stats"]);
    }
}
