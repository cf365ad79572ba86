using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.Models;
using Xunit;
using static TrainedModelsOrleans.ControlPlaneRules.Tests.Assignments;

namespace TrainedModelsOrleans.ControlPlaneRules.Tests;

public class DeploymentRulesTests
{
    private static readonly Dictionary<string, string?> NoQuery = new();

    internal static TrainedModelConfig Model(string id = "model", string type = TrainedModelType.Onnx, bool located = true,
        string taskType = InferenceTaskType.PassThrough, params string[] inputs) => new()
    {
        ModelId = id,
        ModelType = type,
        Input = new TrainedModelInput { FieldNames = inputs.Length == 0 ? ["input"] : inputs },
        InferenceConfig = new JsonObject { [taskType] = new JsonObject() },
        TaskType = taskType,
        Location = located ? new TrainedModelLocation { Index = new TrainedModelIndexLocation { Name = TrainedModelDefaults.NativeDefinitionIndex } } : null,
    };

    private static DefinitionAssembly Complete(string modelId = "model") =>
        DefinitionAssembly.Start(modelId).Add(new DefinitionPart
        {
            ModelId = modelId, Part = 0, TotalParts = 1, TotalDefinitionLength = 3, Definition = [1, 2, 3],
        });

    private static StartDeploymentSettings Request(string? deploymentId = null) => StartDeploymentSettings.Parse("model",
        deploymentId is null ? NoQuery : new Dictionary<string, string?> { ["deployment_id"] = deploymentId }, "");

    private static StartContext Context(int existing = 0, bool idExists = false, TrainedModelConfig? model = null, bool namesOther = false,
        DefinitionAssembly? definition = null, bool noModel = false) => new()
    {
        ExistingDeployments = existing,
        DeploymentIdExists = idExists,
        Model = noModel ? null : model ?? Model(),
        DeploymentIdNamesAnotherModel = namesOther,
        Definition = definition ?? Complete(),
    };

    [Fact]
    public void A_valid_start_passes()
    {
        DeploymentRules.CheckStart(Request(), Context());
    }

    [Fact]
    public void Deployment_limit_answers_429()
    {
        Expect.Error(() => DeploymentRules.CheckStart(Request(), Context(existing: 100)), 429, "status_exception",
            "Could not start model deployment because existing deployments reached the limit of [100]");
        Expect.Error(() => DeploymentRules.CheckStart(Request(), Context(existing: 3) with { MaxDeployments = 3 }), 429, "status_exception",
            "reached the limit of [3]");
    }

    [Fact]
    public void Limit_is_checked_before_a_duplicate_id()
    {
        Expect.Error(() => DeploymentRules.CheckStart(Request(), Context(existing: 100, idExists: true)), 429, "status_exception", "limit");
    }

    [Fact]
    public void Duplicate_deployment_id_answers_400()
    {
        Expect.Error(() => DeploymentRules.CheckStart(Request("dep"), Context(idExists: true)), 400, "status_exception",
            "Could not start model deployment because an existing deployment with the same id [dep] exist");
    }

    [Fact]
    public void Missing_model_answers_404()
    {
        Expect.Error(() => DeploymentRules.CheckStart(Request(), Context(noModel: true)), 404, "resource_not_found_exception",
            "Could not find trained model [model]");
    }

    [Fact]
    public void Tree_model_cannot_be_deployed()
    {
        Expect.Error(() => DeploymentRules.CheckStart(Request(), Context(model: Model(type: TrainedModelType.TreeEnsemble))), 400,
            "status_exception", "model [model] of type [tree_ensemble] cannot be deployed. Only ONNX models can be deployed");
    }

    [Fact]
    public void Model_without_location_answers_500()
    {
        Expect.Error(() => DeploymentRules.CheckStart(Request(), Context(model: Model(located: false))), 500, "status_exception",
            "model [model] does not have location");
    }

    [Fact]
    public void Deployment_id_naming_another_model_answers_400()
    {
        Expect.Error(() => DeploymentRules.CheckStart(Request("other"), Context(namesOther: true)), 400, "status_exception",
            "Deployment id [other] is the same as an another model which is not the model being deployed. Deployment id can be the same as the model being deployed but cannot match a different model");
        // The model's own id is always allowed.
        DeploymentRules.CheckStart(Request(), Context(namesOther: true));
    }

    [Fact]
    public void Missing_definition_answers_404_and_truncated_400()
    {
        Expect.Error(() => DeploymentRules.CheckStart(Request(), Context(definition: DefinitionAssembly.Start("model"))), 404,
            "resource_not_found_exception", "Could not find trained model definition [model]");
        var partial = DefinitionAssembly.Start("model").Add(new DefinitionPart
        {
            ModelId = "model", Part = 0, TotalParts = 2, TotalDefinitionLength = 6, Definition = [1, 2, 3],
        });
        Expect.Error(() => DeploymentRules.CheckStart(Request(), Context(definition: partial)), 400, "status_exception",
            "Model definition truncated. Unable to deserialize trained model definition [model]");
    }

    [Fact]
    public void No_capacity_at_all_answers_429_caused_by_the_plan_reason()
    {
        var planned = Of(numberOfAllocations: 2, state: AssignmentState.Starting) with { Reason = "No ML nodes exist in the cluster" };
        var e = Expect.Error(() => DeploymentRules.CheckStartCapacity(planned, [], scalingPossible: false), 429, "status_exception",
            "Could not start deployment because no ML nodes with sufficient capacity were found");
        e.RootIs("illegal_state_exception",
            "Could not start deployment because no suitable nodes were found, allocation explanation [No ML nodes exist in the cluster]");
    }

    [Fact]
    public void Partial_capacity_answers_429_unless_scaling_is_possible()
    {
        var planned = Of(numberOfAllocations: 4, routes: [("a", Route(RoutingState.Starting, 0, 2))]);
        Expect.Error(() => DeploymentRules.CheckStartCapacity(planned, ["a"], scalingPossible: false), 429, "status_exception",
            "Could not start deployment because there are not enough resources to provide all requested allocations");
        DeploymentRules.CheckStartCapacity(planned, ["a"], scalingPossible: true);
        DeploymentRules.CheckStartCapacity(Of(numberOfAllocations: 2, routes: [("a", Route(RoutingState.Starting, 0, 2))]), ["a"], false);
    }

    [Fact]
    public void Start_wait_fails_with_the_failed_nodes_as_a_java_map()
    {
        var assignment = Of(routes:
        [
            ("node-2", Route(RoutingState.Failed, 0, 1, "out of memory")),
            ("node-1", Route(RoutingState.Failed, 0, 1, "crashed")),
        ]);
        var outcome = DeploymentRules.EvaluateStartWait(assignment, AllocationState.Started);
        Assert.Equal(StartWaitState.Failed, outcome.State);
        Assert.Equal(500, outcome.Error!.Status);
        Assert.Equal("Could not start trained model deployment, the following nodes failed with errors [{node-1=crashed, node-2=out of memory}]",
            outcome.Error.Reason);
    }

    [Fact]
    public void Start_wait_reports_a_removed_assignment()
    {
        var outcome = DeploymentRules.EvaluateStartWait(null, AllocationState.Started);
        Assert.Equal(StartWaitState.Removed, outcome.State);
        Assert.Equal((400, "status_exception"), (outcome.Error!.Status, outcome.Error.Type));
        Assert.Equal("Error waiting for the model deployment to start. The trained model assignment was removed while waiting", outcome.Error.Reason);
    }

    [Fact]
    public void Start_wait_keeps_waiting_while_a_route_is_starting()
    {
        var assignment = Of(state: AssignmentState.Starting, routes: [("a", Route(RoutingState.Starting, 0, 1))]);
        Assert.Equal(StartWaitState.Waiting, DeploymentRules.EvaluateStartWait(assignment, AllocationState.Started).State);
        var started = Of(routes: [("a", Route(RoutingState.Started, 1, 1))]);
        Assert.Equal(StartWaitState.Reached, DeploymentRules.EvaluateStartWait(started, AllocationState.FullyAllocated).State);
    }

    [Fact]
    public void Start_timeout_answers_408_with_es_text()
    {
        var e = DeploymentErrors.StartTimedOut(TimeValue.Parse("90s", "timeout"), "dep");
        Assert.Equal((408, "model_deployment_timeout_exception"), (e.Status, e.Type));
        Assert.Equal("Timed out after [1.5m] waiting for trained model deployment [dep] to start. " +
            "Use the trained model stats API to track the state of the deployment and try again once it has started.", e.Reason);
    }

    private static UpdateDeploymentSettings Update(string body) => UpdateDeploymentSettings.Parse("dep", NoQuery, body);

    [Fact]
    public void Update_of_an_unknown_deployment_answers_404()
    {
        Expect.Error(() => DeploymentRules.CheckUpdate(Update("""{"number_of_allocations":2}"""), null, null), 404,
            "resource_not_found_exception", "No known model deployment with id [dep]");
    }

    [Fact]
    public void Update_to_the_same_count_is_no_change_even_when_not_started()
    {
        var plan = DeploymentRules.CheckUpdate(Update("""{"number_of_allocations":1}"""), Of(state: AssignmentState.Starting), null);
        Assert.Equal(UpdateKind.NoChange, plan.Kind);
    }

    [Fact]
    public void Update_of_a_deployment_not_started_answers_409()
    {
        Expect.Error(() => DeploymentRules.CheckUpdate(Update("""{"number_of_allocations":2}"""), Of(state: AssignmentState.Starting), null),
            409, "status_exception", "cannot update deployment that is not in [started] state");
    }

    [Fact]
    public void Update_tells_increase_from_decrease()
    {
        var assignment = Of(numberOfAllocations: 2);
        Assert.Equal(new UpdatePlan(UpdateKind.Increase, 3, null), DeploymentRules.CheckUpdate(Update("""{"number_of_allocations":3}"""), assignment, null));
        Assert.Equal(UpdateKind.Decrease, DeploymentRules.CheckUpdate(Update("""{"number_of_allocations":1}"""), assignment, null).Kind);
    }

    [Fact]
    public void Low_priority_deployment_cannot_grow_past_one_allocation()
    {
        Expect.Error(() => DeploymentRules.CheckUpdate(Update("""{"number_of_allocations":2}"""), Of(priority: Priority.Low), null),
            400, "status_exception", "[number_of_allocations] must be 1 when [priority] is low");
    }

    [Fact]
    public void Update_checks_the_merged_adaptive_settings()
    {
        var current = new AdaptiveAllocationsSettings { Enabled = true, MinNumberOfAllocations = 1 };
        Expect.Error(() => DeploymentRules.CheckUpdate(Update("""{"number_of_allocations":2}"""), Of(), current), 400,
            "validation_exception", "Validation Failed: 1: [number_of_allocations] cannot be set if adaptive allocations is enabled;");
        // Valid on its own, broken once merged with the stored minimum.
        Expect.Error(() => DeploymentRules.CheckUpdate(Update("""{"adaptive_allocations":{"max_number_of_allocations":2}}"""), Of(),
                current with { MinNumberOfAllocations = 3 }),
            400, "validation_exception", "1: [min_number_of_allocations] must not be larger than [max_number_of_allocations];");

        var plan = DeploymentRules.CheckUpdate(Update("""{"adaptive_allocations":{"max_number_of_allocations":4}}"""), Of(), current);
        Assert.Equal(UpdateKind.KeepAllocations, plan.Kind);
        Assert.Equal(new AdaptiveAllocationsSettings { Enabled = true, MinNumberOfAllocations = 1, MaxNumberOfAllocations = 4 }, plan.AdaptiveAllocations);

        var reset = DeploymentRules.CheckUpdate(Update("""{"adaptive_allocations":null}"""), Of(), current);
        Assert.Equal((UpdateKind.KeepAllocations, (AdaptiveAllocationsSettings?)null), (reset.Kind, reset.AdaptiveAllocations));
    }

    [Fact]
    public void Update_that_cannot_be_placed_answers_429()
    {
        Expect.Error(() => DeploymentRules.CheckUpdateCapacity(3, 257, scalingPossible: false), 429, "status_exception",
            "Could not update deployment because there are not enough resources to provide all requested allocations");
        DeploymentRules.CheckUpdateCapacity(3, 257, scalingPossible: true);
    }

    private static StopDeploymentSettings Stop(string query = "") => StopDeploymentSettings.Parse("dep",
        query.Length == 0 ? NoQuery : query.Split('&').ToDictionary(p => p.Split('=')[0], p => (string?)p.Split('=')[1]), "");

    [Fact]
    public void Stop_of_an_unknown_deployment_is_fine_unless_allow_no_match_is_false()
    {
        Assert.False(DeploymentRules.CheckStop(Stop(), false, new HashSet<string>(), []));
        Expect.Error(() => DeploymentRules.CheckStop(Stop("allow_no_match=false"), false, new HashSet<string>(), []), 404,
            "resource_not_found_exception", "No known model deployment with id [dep]");
    }

    [Fact]
    public void Stop_of_a_deployment_used_by_a_pipeline_answers_409_unless_forced()
    {
        var referenced = new HashSet<string> { "dep" };
        Expect.Error(() => DeploymentRules.CheckStop(Stop(), true, referenced, []), 409, "status_exception",
            "Cannot stop deployment [dep] as it is referenced by ingest processors; use force to stop the deployment");
        Assert.True(DeploymentRules.CheckStop(Stop("force=true"), true, referenced, []));
    }

    [Fact]
    public void Stop_of_a_deployment_whose_alias_is_used_answers_409()
    {
        Expect.Error(() => DeploymentRules.CheckStop(Stop(), true, new HashSet<string> { "z-alias", "b-alias" }, ["z-alias", "b-alias", "c-alias"]),
            409, "status_exception",
            "Cannot stop deployment [dep] as it has a model_alias [b-alias] that is still referenced by ingest processors; use force to stop the deployment");
    }
}
