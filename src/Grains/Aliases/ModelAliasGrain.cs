using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.ModelStore;
using TrainedModelsOrleans.Grains.Pipelines;
using Orleans;
using Orleans.Concurrency;
using TrainedModelsOrleans.Grains.Storage;

namespace TrainedModelsOrleans.Grains.Aliases;

/// <summary>
/// One alias. Its durable state is its row in the shared id namespace (ml_ids, kind 'alias'), so a
/// model, a deployment and an alias can never hold the same id; this single activation orders the
/// moves of one alias, and each move is one conditional write.
/// </summary>
public sealed class ModelAliasGrain(GrainStateStore store, DeploymentTables tables, Serving.InferenceTargets inferenceTargets) : Grain, IModelAliasGrain
{
    private string Alias => this.GetPrimaryKeyString();

    public async Task<StoreResponse> Put(string modelId, IReadOnlyDictionary<string, string?> query)
    {
        var request = ModelAliasRequest.Parse(modelId, Alias, query);
        var ids = await tables.IdsAsync([Alias], CancellationToken.None);
        var current = ids.TryGetValue(Alias, out var row) && row.Kind == "alias" ? row.ModelId : null;
        var aliasIsAModelId = row.Kind == "model";
        var assignments = await GrainFactory.GetGrain<IAssignmentCoordinatorGrain>(AssignmentCoordinatorGrain.Key).GetAssignments();
        var newModel = await WithDeploymentsAsync(modelId, assignments);
        var oldModel = current is null ? null : await WithDeploymentsAsync(current, assignments);
        var warning = ModelAliasRules.CheckPut(request, current, aliasIsAModelId, newModel, oldModel);

        // Only an alias row may be moved: a model or deployment holding the id makes the write touch no row.
        var transaction = store.BeginTransaction().Execute("""
            INSERT INTO ml_ids (id, kind, model_id) VALUES ($1, 'alias', $2)
            ON CONFLICT (id) DO UPDATE SET model_id = EXCLUDED.model_id WHERE ml_ids.kind = 'alias'
            """, [Alias, modelId], expectedRows: 1);
        try
        {
            await transaction.CommitAsync();
        }
        catch (TransactionAbortedException)
        {
            throw ElasticsearchException.BadRequest("model_alias cannot be the same as an existing trained model_id");
        }
        inferenceTargets.Invalidate();
        return new StoreResponse(new JsonObject { ["acknowledged"] = true }, warning is null ? [] : [warning]);
    }

    public async Task Delete(string modelId)
    {
        var current = await GetModelId();
        var referenced = (await tables.PipelineReferencesAsync(CancellationToken.None)).ToHashSet(StringComparer.Ordinal);
        ModelAliasRules.CheckDelete(Alias, modelId, current, referenced);
        await store.BeginTransaction()
            .Execute("DELETE FROM ml_ids WHERE id = $1 AND kind = 'alias' AND model_id = $2", [Alias, modelId], expectedRows: 1)
            .CommitAsync();
        inferenceTargets.Invalidate();
    }

    public async Task<string?> GetModelId()
    {
        var ids = await tables.IdsAsync([Alias], CancellationToken.None);
        return ids.TryGetValue(Alias, out var row) && row.Kind == "alias" ? row.ModelId : null;
    }

    private async Task<ModelWithDeployments?> WithDeploymentsAsync(string modelId, IReadOnlyList<TrainedModelAssignment> assignments)
    {
        var config = await GrainFactory.GetGrain<ITrainedModelGrain>(modelId).GetConfig();
        return config is null
            ? null
            : new ModelWithDeployments(config, assignments.Where(a => a.TaskParameters.ModelId == modelId).Select(DeploymentSummary.Of).ToList());
    }
}
