using TrainedModelsOrleans.Grains.Aliases;
using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.Models;
using Xunit;
using static TrainedModelsOrleans.ControlPlaneRules.Tests.DeploymentRulesTests;

namespace TrainedModelsOrleans.ControlPlaneRules.Tests;

public class ModelAliasTests
{
    private static ModelAliasSettings Put(string modelId = "new-model", string alias = "my-alias", bool reassign = true) => new(modelId, alias, reassign);

    private static ModelWithDeployments With(TrainedModelConfig config, params DeploymentSummary[] deployments) => new(config, deployments);

    private static DeploymentSummary Deployed(string id, AllocationState? allocation) =>
        new(id, allocation is null ? AssignmentState.Stopping : AssignmentState.Started, allocation);

    [Theory]
    [InlineData("a")]
    [InlineData("pytorch")]
    [InlineData("my-alias.v_two")]
    [InlineData("1a")]
    public void Valid_aliases_pass(string alias)
    {
        ModelAliasSettings.Validate("model", alias);
    }

    [Theory]
    [InlineData("alias1")]
    [InlineData("Alias")]
    [InlineData("-alias")]
    [InlineData("alias-")]
    [InlineData("al ias")]
    public void Invalid_aliases_are_refused(string alias)
    {
        Expect.Error(() => ModelAliasSettings.Validate("model", alias), 400, "action_request_validation_exception",
            $"1: Invalid model_alias; '{alias}' can contain lowercase alphanumeric (a-z and 0-9), hyphens or underscores; must start with alphanumeric and cannot end with numbers;");
    }

    [Fact]
    public void Alias_equal_to_the_model_id_is_refused_first()
    {
        Expect.Error(() => ModelAliasSettings.Validate("model1", "model1"), 400, "action_request_validation_exception",
            "Validation Failed: 1: model_alias [model1] cannot equal model_id [model1];2: Invalid model_alias; 'model1'");
    }

    [Fact]
    public void Reassign_parameter_is_read()
    {
        Assert.True(ModelAliasSettings.Parse("m", "a", new Dictionary<string, string?> { ["reassign"] = "true" }).Reassign);
        Assert.False(ModelAliasSettings.Parse("m", "a", new Dictionary<string, string?>()).Reassign);
    }

    [Fact]
    public void Existing_alias_without_reassign_is_refused()
    {
        Expect.Error(() => ModelAliasRules.CheckPut(Put(reassign: false), "old-model", false, With(Model("new-model")), With(Model("old-model"))),
            400, "status_exception",
            "cannot assign model_alias [my-alias] to model_id [new-model] as model_alias already refers to [old-model]. Set parameter [reassign] to [true] if model_alias should be reassigned.");
    }

    [Fact]
    public void Alias_that_is_a_model_id_is_refused_before_a_missing_model()
    {
        Expect.Error(() => ModelAliasRules.CheckPut(Put(), null, true, null, null), 400, "status_exception",
            "model_alias cannot be the same as an existing trained model_id");
    }

    [Fact]
    public void Missing_model_answers_404()
    {
        Expect.Error(() => ModelAliasRules.CheckPut(Put(), null, false, null, null), 404, "resource_not_found_exception",
            "No known trained model with model_id [new-model]");
    }

    [Fact]
    public void New_alias_passes_without_old_model_checks()
    {
        Assert.Null(ModelAliasRules.CheckPut(Put(), null, false, With(Model("new-model")), null));
    }

    [Fact]
    public void Inference_config_type_must_match()
    {
        Expect.Error(() => ModelAliasRules.CheckPut(Put(), "old-model", false,
                With(Model("new-model", taskType: InferenceTaskType.Ner)), With(Model("old-model"))), 400, "status_exception",
            "cannot reassign model_alias [my-alias] to model [new-model] with inference config type [ner] from model [old-model] with type [pass_through]");
    }

    [Fact]
    public void Model_type_must_match()
    {
        Expect.Error(() => ModelAliasRules.CheckPut(Put(), "old-model", false,
                With(Model("new-model", type: TrainedModelType.TreeEnsemble)), With(Model("old-model"))), 400, "status_exception",
            "cannot reassign model_alias [my-alias] to model [new-model] with type [tree_ensemble] from model [old-model] with type [onnx]");
    }

    [Fact]
    public void Deployed_alias_cannot_move_to_an_undeployed_model()
    {
        Expect.Error(() => ModelAliasRules.CheckPut(Put(), "old-model", false, With(Model("new-model")),
                With(Model("old-model"), Deployed("old-model", AllocationState.FullyAllocated))), 400, "status_exception",
            "cannot reassign model_alias [my-alias] to model [new-model] from model [old-model] as it is not yet deployed");
    }

    [Fact]
    public void Allocated_alias_cannot_move_to_a_model_still_starting()
    {
        var e = Expect.Error(() => ModelAliasRules.CheckPut(Put(), "old-model", false,
                With(Model("new-model"), Deployed("new-model", AllocationState.Starting)),
                With(Model("old-model"), Deployed("old-model", AllocationState.Started))), 400, "status_exception",
            "cannot reassign model_alias [my-alias] to model [new-model]  from model [old-model] as it is not yet allocated to any nodes");
        Assert.Contains("]  from", e.Reason);
    }

    [Fact]
    public void Allocated_alias_can_move_to_an_allocated_model()
    {
        Assert.Null(ModelAliasRules.CheckPut(Put(), "old-model", false,
            With(Model("new-model"), Deployed("new-model", AllocationState.Started)),
            With(Model("old-model"), Deployed("old-model", AllocationState.FullyAllocated))));
    }

    [Fact]
    public void Different_input_fields_give_a_warning()
    {
        var warning = ModelAliasRules.CheckPut(Put(), "old-model", false,
            With(Model("new-model", type: TrainedModelType.TreeEnsemble, taskType: InferenceTaskType.Regression, inputs: ["x", "y"])),
            With(Model("old-model", type: TrainedModelType.TreeEnsemble, taskType: InferenceTaskType.Regression, inputs: ["a", "b", "c"])));
        Assert.Equal("The input fields for new model [new-model] and for old model [old-model] differ significantly, model results may change drastically.", warning);

        Assert.Null(ModelAliasRules.CheckPut(Put(), "old-model", false,
            With(Model("new-model", inputs: ["a", "b", "z"])), With(Model("old-model", inputs: ["a", "b", "c"]))));
    }

    [Fact]
    public void Delete_rules_follow_es()
    {
        var none = new HashSet<string>();
        Expect.Error(() => ModelAliasRules.CheckDelete("my-alias", "m", null, none), 404, "status_exception", "model_alias [my-alias] could not be found");
        Expect.Error(() => ModelAliasRules.CheckDelete("my-alias", "m", "other", none), 409, "status_exception",
            "model_alias [my-alias] does not refer to provided model_id [m]");
        Expect.Error(() => ModelAliasRules.CheckDelete("my-alias", "m", "m", new HashSet<string> { "my-alias" }), 409, "status_exception",
            "Cannot delete model_alias [my-alias] as it is still referenced by ingest processors");
        ModelAliasRules.CheckDelete("my-alias", "m", "m", none);
    }

    [Fact]
    public void Deployment_summary_reads_the_allocation_state()
    {
        var assignment = Assignments.Of(numberOfAllocations: 2, routes: [("a", Assignments.Route(RoutingState.Started, 1, 1))]);
        Assert.Equal(new DeploymentSummary("dep", AssignmentState.Started, AllocationState.Started), DeploymentSummary.Of(assignment));
    }
}
