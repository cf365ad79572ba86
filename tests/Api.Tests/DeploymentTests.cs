using System.Net;
using System.Text.Json.Nodes;
using Xunit;

namespace TrainedModelsOrleans.Api.Tests;

public sealed class DeploymentTests(ServiceFixture service) : IClassFixture<ServiceFixture>
{
    private const string Node = "api-test-node";

    [Fact]
    public async Task Start_with_defaults_opens_the_model_and_returns_the_started_assignment()
    {
        var model = await service.UploadModelAsync();
        var assignment = (await service.StartAsync(model)).AssertOk().Body["assignment"]!;

        var parameters = assignment["task_parameters"]!;
        Assert.Equal(model, parameters["model_id"]!.GetValue<string>());
        Assert.Equal(model, parameters["deployment_id"]!.GetValue<string>());
        Assert.Equal(1, parameters["threads_per_allocation"]!.GetValue<int>());
        Assert.Equal(1, parameters["number_of_allocations"]!.GetValue<int>());
        Assert.Equal(1024, parameters["queue_capacity"]!.GetValue<int>());
        Assert.Equal("normal", parameters["priority"]!.GetValue<string>());
        var route = assignment["routing_table"]![Node]!;
        Assert.Equal("started", route["routing_state"]!.GetValue<string>());
        Assert.Equal(1, route["current_allocations"]!.GetValue<int>());
        Assert.Equal(1, route["target_allocations"]!.GetValue<int>());
        Assert.Equal("started", assignment["assignment_state"]!.GetValue<string>());
        Assert.NotNull(assignment["start_time"]);

        Assert.Equal(1, await service.CountAsync("SELECT count(*) FROM deployment_routes WHERE deployment_id = $1 AND routing_state = 'started'", model));

        var stopped = (await service.StopAsync(model)).AssertOk().Body;
        Assert.True(stopped["stopped"]!.GetValue<bool>());
        Assert.Equal(0, await service.CountAsync("SELECT count(*) FROM deployment_routes WHERE deployment_id = $1", model));
        Assert.Equal(0, await service.CountAsync("SELECT count(*) FROM ml_deployments WHERE deployment_id = $1", model));
    }

    [Fact]
    public async Task Start_validation_errors_are_listed_in_elasticsearch_order_and_change_nothing()
    {
        var model = await service.UploadModelAsync();
        (await service.StartAsync(model, "threads_per_allocation=3"))
            .AssertError(400, "action_request_validation_exception", "Validation Failed: 1: [threads_per_allocation] must be a power of 2 less than or equal to 32;");
        (await service.StartAsync(model, "number_of_allocations=0"))
            .AssertError(400, "action_request_validation_exception", "[number_of_allocations] must be a positive integer");
        (await service.StartAsync(model, "queue_capacity=1000001"))
            .AssertError(400, "action_request_validation_exception", "[queue_capacity] must be less than 1000000");
        (await service.StartAsync(model, "priority=low&number_of_allocations=2"))
            .AssertError(400, "action_request_validation_exception", "[number_of_allocations] must be 1 when [priority] is low");
        (await service.StartAsync(model, "number_of_allocations=0&threads_per_allocation=0"))
            .AssertError(400, "action_request_validation_exception",
                "Validation Failed: 1: [number_of_allocations] must be a positive integer;2: [threads_per_allocation] must be a positive integer;3: [threads_per_allocation] must be a power of 2 less than or equal to 32;");
        Assert.Equal(0, await service.CountAsync("SELECT count(*) FROM ml_deployments WHERE deployment_id = $1", model));

        // The maximum itself is accepted.
        (await service.StartAsync(model, "queue_capacity=1000000")).AssertOk();
        (await service.StopAsync(model)).AssertOk();
    }

    [Fact]
    public async Task Start_refuses_missing_undeployable_and_incomplete_models()
    {
        (await service.StartAsync("no-such-model")).AssertError(404, "resource_not_found_exception", "Could not find trained model [no-such-model]");

        var tree = Deployments.NewId("tree");
        (await service.PutAsync($"/_ml/trained_models/{tree}", ModelUploads.TreeModel())).AssertOk();
        (await service.StartAsync(tree)).AssertError(400, "status_exception", $"model [{tree}] of type [tree_ensemble] cannot be deployed. Only ONNX models can be deployed");

        var empty = Deployments.NewId("empty");
        (await service.PutAsync($"/_ml/trained_models/{empty}", ModelUploads.OnnxConfig())).AssertOk();
        (await service.StartAsync(empty)).AssertError(404, "resource_not_found_exception", $"Could not find trained model definition [{empty}]");
    }

    [Fact]
    public async Task Deployment_ids_share_the_namespace_of_model_ids()
    {
        var model = await service.UploadModelAsync();
        var other = await service.UploadModelAsync("other");
        (await service.StartAsync(model, $"deployment_id={other}"))
            .AssertError(400, "status_exception", $"Deployment id [{other}] is the same as an another model which is not the model being deployed");

        var deploymentId = Deployments.NewId("named");
        (await service.StartAsync(model, $"deployment_id={deploymentId}")).AssertOk();
        Assert.Equal(1, await service.CountAsync("SELECT count(*) FROM ml_ids WHERE id = $1 AND kind = 'deployment' AND model_id = $2", deploymentId, model));
        // A model cannot take a deployment's id.
        (await service.PutAsync($"/_ml/trained_models/{deploymentId}", ModelUploads.OnnxConfig()))
            .AssertError(400, "status_exception", $"Cannot create model [{deploymentId}] the id is the same as an current model deployment");
        (await service.StartAsync(model, $"deployment_id={deploymentId}"))
            .AssertError(400, "status_exception", $"Could not start model deployment because an existing deployment with the same id [{deploymentId}] exist");
        (await service.StopAsync(deploymentId)).AssertOk();
        Assert.Equal(0, await service.CountAsync("SELECT count(*) FROM ml_ids WHERE id = $1", deploymentId));
    }

    [Fact]
    public async Task Twenty_racing_starts_of_one_deployment_id_let_exactly_one_succeed()
    {
        for (var round = 0; round < 3; round++)
        {
            var model = await service.UploadModelAsync("race");
            var deploymentId = model + "-dep";
            var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => service.StartAsync(model, $"deployment_id={deploymentId}")));
            Assert.Single(responses, r => r.Status == HttpStatusCode.OK);
            foreach (var refused in responses.Where(r => r.Status != HttpStatusCode.OK))
                Assert.Contains(refused.Body["error"]!["reason"]!.GetValue<string>(), new[]
                {
                    $"Could not start model deployment because an existing deployment with the same id [{deploymentId}] exist",
                    $"Cannot start deployment [{deploymentId}] because it has already been started",
                });
            // In the committed rows: one deployment, one id, one node's reservation for it.
            Assert.Equal(1, await service.CountAsync("SELECT count(*) FROM ml_deployments WHERE deployment_id = $1", deploymentId));
            Assert.Equal(1, await service.CountAsync("SELECT count(*) FROM ml_ids WHERE id = $1 AND kind = 'deployment' AND model_id = $2", deploymentId, model));
            Assert.Equal(1, await service.CountAsync("SELECT count(*) FROM deployment_routes WHERE deployment_id = $1", deploymentId));
            await service.AssertNoNodeOversubscribedAsync();
            (await service.StopAsync(deploymentId)).AssertOk();
        }
    }

    [Fact]
    public async Task Start_that_cannot_be_placed_answers_429_and_stores_nothing()
    {
        var model = await service.UploadModelAsync();
        (await service.StartAsync(model, "number_of_allocations=5"))
            .AssertError(429, "status_exception", "Could not start deployment because there are not enough resources to provide all requested allocations");
        (await service.StartAsync(model, "threads_per_allocation=8"))
            .AssertError(429, "status_exception", "Could not start deployment because no ML nodes with sufficient capacity were found");
        Assert.Equal(0, await service.CountAsync("SELECT count(*) FROM ml_deployments WHERE deployment_id = $1", model));
        Assert.Equal(0, await service.CountAsync("SELECT count(*) FROM deployment_routes WHERE deployment_id = $1", model));
    }

    [Fact]
    public async Task Update_grows_and_shrinks_within_capacity_and_refuses_beyond_it()
    {
        var model = await service.UploadModelAsync();
        (await service.StartAsync(model)).AssertOk();

        (await service.UpdateAsync(model, 3)).AssertOk();
        Assert.Equal(3, await service.CountAsync("SELECT target_allocations FROM deployment_routes WHERE deployment_id = $1", model));
        (await service.UpdateAsync(model, 5))
            .AssertError(429, "status_exception", "Could not update deployment because there are not enough resources to provide all requested allocations");
        Assert.Equal(3, await service.CountAsync("SELECT target_allocations FROM deployment_routes WHERE deployment_id = $1", model));
        var shrunk = (await service.UpdateAsync(model, 1)).AssertOk().Body["assignment"]!;
        Assert.Equal(1, shrunk["task_parameters"]!["number_of_allocations"]!.GetValue<int>());
        Assert.Equal(1, await service.CountAsync("SELECT target_allocations FROM deployment_routes WHERE deployment_id = $1", model));

        (await service.UpdateAsync("no-such-deployment", 2)).AssertError(404, "resource_not_found_exception", "No known model deployment with id [no-such-deployment]");
        (await service.StopAsync(model)).AssertOk();
    }

    [Fact]
    public async Task Low_priority_deployments_run_on_a_node_normal_ones_have_filled()
    {
        var big = await service.UploadModelAsync("big");
        var low = await service.UploadModelAsync("low");
        (await service.StartAsync(big, "number_of_allocations=4")).AssertOk();
        var assignment = (await service.StartAsync(low, "priority=low")).AssertOk().Body["assignment"]!;
        Assert.Equal("low", assignment["task_parameters"]!["priority"]!.GetValue<string>());
        Assert.Equal("started", assignment["routing_table"]![Node]!["routing_state"]!.GetValue<string>());
        await service.AssertNoNodeOversubscribedAsync();
        (await service.StopAsync(low)).AssertOk();
        (await service.StopAsync(big)).AssertOk();
    }

    [Fact]
    public async Task Stop_follows_allow_no_match_and_pipeline_references()
    {
        (await service.StopAsync("never-deployed")).AssertOk();
        (await service.StopAsync("never-deployed", "allow_no_match=false"))
            .AssertError(404, "resource_not_found_exception", "No known model deployment with id [never-deployed]");

        var model = await service.UploadModelAsync();
        (await service.StartAsync(model)).AssertOk();
        var pipeline = Deployments.NewId("pipeline");
        (await service.PutAsync($"/_ingest/pipeline/{pipeline}", new JsonObject
        {
            ["processors"] = new JsonArray(new JsonObject { ["inference"] = new JsonObject { ["model_id"] = model } }),
        })).AssertOk();
        (await service.StopAsync(model))
            .AssertError(409, "status_exception", $"Cannot stop deployment [{model}] as it is referenced by ingest processors; use force to stop the deployment");
        Assert.Equal(1, await service.CountAsync("SELECT count(*) FROM deployment_routes WHERE deployment_id = $1", model));
        (await service.StopAsync(model, "force=true")).AssertOk();
        (await service.DeleteAsync($"/_ingest/pipeline/{pipeline}")).AssertOk();
    }

    [Fact]
    public async Task A_model_that_fails_to_load_fails_the_start_and_its_assignment_is_removed()
    {
        var model = await service.UploadModelAsync("corrupt");
        // The definition rots after upload (a disk error, a bad restore): ONNX Runtime cannot open it any more.
        await service.ExecuteAsync("UPDATE model_definition_parts SET definition = '\\x0102030405'::bytea WHERE model_id = $1", model);

        (await service.StartAsync(model))
            .AssertError(500, "status_exception", $"Could not start trained model deployment, the following nodes failed with errors [{{{Node}=");
        Assert.Equal(0, await service.CountAsync("SELECT count(*) FROM ml_deployments WHERE deployment_id = $1", model));
    }
}

public sealed class DeleteDeployedModelTests(ServiceFixture service) : IClassFixture<ServiceFixture>
{
    [Fact]
    public async Task Deleting_a_deployed_model_is_refused_unless_forced_and_force_stops_its_deployments()
    {
        var model = await service.UploadModelAsync();
        (await service.StartAsync(model)).AssertOk();
        (await service.DeleteAsync($"/_ml/trained_models/{model}"))
            .AssertError(409, "status_exception", $"Cannot delete model [{model}] as it is currently deployed; use force to delete the model");
        Assert.Equal(1, await service.CountAsync("SELECT count(*) FROM deployment_routes WHERE model_id = $1", model));

        (await service.DeleteAsync($"/_ml/trained_models/{model}?force=true")).AssertOk();
        Assert.Equal(0, await service.CountAsync("SELECT count(*) FROM deployment_routes WHERE model_id = $1", model));
        Assert.Equal(0, await service.CountAsync("SELECT count(*) FROM ml_ids WHERE model_id = $1", model));
        (await service.GetAsync($"/_ml/trained_models/{model}")).AssertError(404, "resource_not_found_exception", model);
    }
}
