using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.Models;
using TrainedModelsOrleans.Grains.Models.Parsing;

namespace TrainedModelsOrleans.Grains.Aliases;

/// <summary>What the alias rules need to know about one deployment of a model.</summary>
/// <param name="Allocation">The allocation state (AllocationStatus.calculateState); null while stopping.</param>
public sealed record DeploymentSummary(string DeploymentId, AssignmentState State, AllocationState? Allocation)
{
    public static DeploymentSummary Of(TrainedModelAssignment assignment) => new(
        assignment.TaskParameters.DeploymentId,
        assignment.AssignmentState,
        AssignmentStatus.CalculateAllocationStatus(assignment)?.State);
}

/// <summary>A model and its deployments (TrainedModelAssignmentMetadata.assignmentsForModelId).</summary>
public sealed record ModelWithDeployments(TrainedModelConfig Config, IReadOnlyList<DeploymentSummary> Deployments);

/// <summary>
/// The alias APIs' rules that need state: TransportPutTrainedModelAliasAction and
/// TransportDeleteTrainedModelAliasAction, with ES's order and texts.
/// </summary>
public static class ModelAliasRules
{
    /// <summary>
    /// The PUT checks, in ES's order: the alias exists and <c>reassign</c> is false (400); a model's id equals the
    /// alias (400); the new model is missing (404); then, only when the alias's old model still exists: the
    /// inference config types differ (400), the model types differ (400), and for onnx models, deployment
    /// rules — the old model deployed but the new one not (400), or an old deployment allocated while a new one is
    /// still starting or stopping (400). Returns the Warning-header text when the input fields differ
    /// significantly (the request still succeeds; ES also audits it on the old model), else null.
    /// </summary>
    /// <param name="currentTarget">The model id the alias points to now; null for a new alias.</param>
    /// <param name="aliasIsAModelId">A model exists whose id is the alias.</param>
    /// <param name="newModel">The model named in the path; null when it does not exist.</param>
    /// <param name="oldModel">The model of <paramref name="currentTarget"/>; null when there is none or it was deleted.</param>
    public static string? CheckPut(ModelAliasSettings request, string? currentTarget, bool aliasIsAModelId,
        ModelWithDeployments? newModel, ModelWithDeployments? oldModel)
    {
        var alias = request.Alias;
        if (currentTarget is not null && !request.Reassign)
            throw EsErrors.BadRequest(
                $"cannot assign model_alias [{alias}] to model_id [{request.ModelId}] as model_alias already refers to [{currentTarget}]. " +
                "Set parameter [reassign] to [true] if model_alias should be reassigned.");
        if (aliasIsAModelId) throw EsErrors.BadRequest("model_alias cannot be the same as an existing trained model_id");
        if (newModel is null) throw EsErrors.NotFound($"No known trained model with model_id [{request.ModelId}]");
        if (oldModel is null) return null;

        var (next, previous) = (newModel.Config, oldModel.Config);
        if (next.TaskType != previous.TaskType)
            throw EsErrors.BadRequest(
                $"cannot reassign model_alias [{alias}] to model [{next.ModelId}] with inference config type [{next.TaskType}] " +
                $"from model [{previous.ModelId}] with type [{previous.TaskType}]");
        if (next.ModelType != previous.ModelType)
            throw EsErrors.BadRequest(
                $"cannot reassign model_alias [{alias}] to model [{next.ModelId}] with type [{next.ModelType}] " +
                $"from model [{previous.ModelId}] with type [{previous.ModelType}]");

        if (next.ModelType == TrainedModelType.Onnx && oldModel.Deployments.Count > 0)
        {
            if (newModel.Deployments.Count == 0)
                throw EsErrors.BadRequest(
                    $"cannot reassign model_alias [{alias}] to model [{next.ModelId}] from model [{previous.ModelId}] as it is not yet deployed");
            var oldAllocated = oldModel.Deployments.Any(d => d.Allocation is AllocationState.Started or AllocationState.FullyAllocated);
            var newNotAllocated = newModel.Deployments.Any(d => d.Allocation is null or AllocationState.Starting);
            if (oldAllocated && newNotAllocated)
                // ES's text has two spaces before "from".
                throw EsErrors.BadRequest(
                    $"cannot reassign model_alias [{alias}] to model [{next.ModelId}]  from model [{previous.ModelId}] as it is not yet allocated to any nodes");
        }

        return InputFieldsWarning(next, previous);
    }

    /// <summary>
    /// Messages.TRAINED_MODEL_INPUTS_DIFFER_SIGNIFICANTLY when, with O the old fields and N the new ones (as sets),
    /// |O − N| &gt; |O|/2 or |O ∩ N| &lt; |O|/2 (integer division); else null.
    /// </summary>
    public static string? InputFieldsWarning(TrainedModelConfig next, TrainedModelConfig previous)
    {
        var oldFields = previous.Input.FieldNames.ToHashSet(StringComparer.Ordinal);
        var newFields = next.Input.FieldNames.ToHashSet(StringComparer.Ordinal);
        var half = oldFields.Count / 2;
        var removed = oldFields.Count(f => !newFields.Contains(f));
        var kept = oldFields.Count(newFields.Contains);
        return removed > half || kept < half
            ? $"The input fields for new model [{next.ModelId}] and for old model [{previous.ModelId}] differ significantly, model results may change drastically."
            : null;
    }

    /// <summary>
    /// DELETE: the alias unknown → 404 (<c>status_exception</c>, as ES throws it); pointing elsewhere → 409;
    /// named by an inference processor → 409.
    /// </summary>
    /// <param name="referencedIds">Every model id or alias named by an inference processor.</param>
    public static void CheckDelete(string alias, string modelId, string? currentTarget, IReadOnlySet<string> referencedIds)
    {
        if (currentTarget is null) throw EsErrors.Status(404, $"model_alias [{alias}] could not be found");
        if (currentTarget != modelId)
            throw EsErrors.Status(409, $"model_alias [{alias}] does not refer to provided model_id [{modelId}]");
        if (referencedIds.Contains(alias))
            throw EsErrors.Status(409, $"Cannot delete model_alias [{alias}] as it is still referenced by ingest processors");
    }

    /// <summary>The aliases, among <paramref name="aliases"/> (alias → model id), that point at <paramref name="modelId"/>, in ordinal order.</summary>
    public static IReadOnlyList<string> AliasesOf(string modelId, IReadOnlyDictionary<string, string> aliases) =>
        aliases.Where(a => a.Value == modelId).Select(a => a.Key).Order(StringComparer.Ordinal).ToList();
}
