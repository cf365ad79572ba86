using Microsoft.Extensions.Logging;
using Orleans;
using Orleans.Concurrency;
using Orleans.Transactions.Abstractions;
using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.ModelStore;
using TrainedModelsOrleans.Grains.Models;
using TrainedModelsOrleans.Grains.Pipelines;
using TrainedModelsOrleans.Grains.Transactions;

namespace TrainedModelsOrleans.Grains.Aliases;

/// <summary>The alias's durable state: the model it points to (null: no such alias).</summary>
[GenerateSerializer(GenerateFieldIds = GenerateFieldIds.PublicProperties), Alias("tmo.ModelAliasState")]
public sealed class ModelAliasState
{
    public string? ModelId { get; set; }
}

/// <summary>
/// One alias. A move is one transaction over this grain's state and the shared namespace (where the alias claims
/// its id), after Elasticsearch's type and deployment rules; so a model, a deployment and an alias can never hold
/// the same id, and racing moves leave the alias on exactly one model.
/// </summary>
[Reentrant]
public sealed class ModelAliasGrain(
    [TransactionalState("model-alias")] ITransactionalState<ModelAliasState> alias,
    ControlPlaneTransactions transactions,
    PipelineTables pipelines,
    Serving.InferenceTargets inferenceTargets,
    Serving.LocalNode node,
    ILogger<ModelAliasGrain> logger) : Grain, IModelAliasGrain, Errors.IKeyedByUserId
{
    /// <summary>A call that found nothing (a 404) on an activation that never wrote: its aborted reads hold nothing.</summary>
    bool Errors.IKeyedByUserId.HoldsNothing(bool callFoundNothing) => callFoundNothing && !_wrote;

    private bool _wrote;

    private string Alias => this.GetPrimaryKeyString();
    private IMlIdsGrain Ids => GrainFactory.GetGrain<IMlIdsGrain>(IMlIdsGrain.Key);

    public async Task<IReadOnlyList<string>> Put(PutModelAliasRequest given)
    {
        var request = ModelAliasSettings.From(given with { ModelAlias = Alias });
        var modelId = request.ModelId;
        var assignments = await GrainFactory.GetGrain<IAssignmentCoordinatorGrain>(AssignmentCoordinatorGrain.Key).GetAssignments();
        var newModel = await WithDeploymentsAsync(modelId, assignments);
        string? movedFrom = null;
        var warning = await transactions.RunAsync(async () =>
        {
            // Read under the transaction's lock: the rules see the namespace exactly as the claim will change it.
            var held = await Ids.Find(Alias);
            var current = held?.Kind == MlIdEntry.Alias ? held.ModelId : null;
            movedFrom = current;
            var oldModel = current is null ? null : await WithDeploymentsAsync(current, assignments);
            var warning = ModelAliasRules.CheckPut(request, current, aliasIsAModelId: held?.Kind == MlIdEntry.Model, newModel, oldModel);
            _wrote = true;
            await Ids.Claim(Alias, MlIdEntry.ForAlias(modelId));
            await alias.PerformUpdate(s => s.ModelId = modelId);
            return warning;
        });
        inferenceTargets.Invalidate();
        ControlPlaneLog.AliasMoved(logger, Alias, movedFrom ?? "(none)", modelId, node.Name, movedFrom is null ? "created" : "moved");
        return warning is null ? [] : [warning];
    }

    public async Task Delete(string modelId)
    {
        var referenced = await pipelines.ReferencedIdsAsync(CancellationToken.None);
        await transactions.RunAsync(async () =>
        {
            var current = await alias.PerformRead(s => s.ModelId);
            ModelAliasRules.CheckDelete(Alias, modelId, current, referenced);
            _wrote = true;
            await Ids.Release(Alias, MlIdEntry.Alias);
            await alias.PerformUpdate(s => s.ModelId = null);
        });
        inferenceTargets.Invalidate();
        ControlPlaneLog.AliasDeleted(logger, Alias, modelId, node.Name, "deleted");
    }

    public Task<string?> GetModelId() => alias.PerformRead(s => s.ModelId);

    public Task Clear()
    {
        _wrote = true;
        return alias.PerformUpdate(s => s.ModelId = null);
    }

    private async Task<ModelWithDeployments?> WithDeploymentsAsync(string modelId, IReadOnlyList<TrainedModelAssignment> assignments)
    {
        var config = await GrainFactory.GetGrain<ITrainedModelGrain>(modelId).GetConfig();
        return config is null
            ? null
            : new ModelWithDeployments(config, assignments.Where(a => a.TaskParameters.ModelId == modelId).Select(DeploymentSummary.Of).ToList());
    }
}
