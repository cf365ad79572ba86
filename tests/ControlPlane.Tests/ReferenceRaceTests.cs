using System.Diagnostics;
using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.ModelStore;
using TrainedModelsOrleans.Grains.Models;
using TrainedModelsOrleans.TestSupport;
using Xunit;
using Xunit.Abstractions;
using static TrainedModelsOrleans.ControlPlane.Tests.ControlPlaneCluster;

namespace TrainedModelsOrleans.ControlPlane.Tests;

/// <summary>
/// Changes that name a model (an alias PUT, a deployment start) racing the model's DELETE: whichever order the
/// transactions commit in, nothing committed may name a model that is gone, and every deployment's id stays held in
/// the namespace (both races were real bugs, found by these tests: the namespace now records every deployment and
/// checks, under the transaction's lock, that an alias's or a deployment's model is still a model). Own cluster.
/// </summary>
public sealed class ReferenceRaceTests(ControlPlaneCluster cluster, ITestOutputHelper output) : ControlPlaneTest(cluster, output)
{
    private const int Rounds = 12;


    [Fact]
    public async Task An_alias_PUT_racing_the_DELETE_of_its_model_never_leaves_the_alias_on_a_deleted_model()
    {
        var dangling = new List<string>();
        var random = new Random(3);
        for (var round = 0; round < 3 * Rounds; round++)
        {
            var model = await Cluster.PutTreeModelAsync(MlApi.NewId("doomed"));
            var alias = AliasId("racing");
            var delay = random.Next(0, 15);
            var put = OutcomeAsync(() => Cluster.Grain<IModelAliasGrain>(alias).Put(new PutModelAliasRequest { ModelId = model, ModelAlias = alias }));
            var delete = OutcomeAsync(async () =>
            {
                await Task.Delay(delay);
                await Cluster.Grain<ITrainedModelGrain>(model).Delete(false);
            });
            await Task.WhenAll(put, delete);
            var (putError, deleteError) = (await put, await delete);
            Assert.True(deleteError is null, $"round {round}: delete {deleteError}");
            if (putError is not null) Assert.Equal(404, Refusal(putError)?.Status);

            await Cluster.CommittedAsync();
            Assert.Null(await Cluster.Grain<ITrainedModelGrain>(model).GetConfig().WaitAsync(Bound));
            var target = await Cluster.Grain<IModelAliasGrain>(alias).GetModelId().WaitAsync(Bound);
            var entry = (await Ids.GetCommitted().WaitAsync(Bound)).GetValueOrDefault(alias);
            var rows = await Cluster.RowsAsync("SELECT model_id FROM ml_ids WHERE id = @a", ("a", alias));
            Output.WriteLine($"round {round} (delete after {delay} ms): alias PUT {(putError is null ? "ok" : Refusal(putError)?.Reason)}; " +
                              $"alias grain → {target ?? "-"}, namespace → {entry?.ModelId ?? "-"}, ml_ids rows {rows.Count}");
            if (target is not null || entry is not null || rows.Count > 0) dangling.Add($"{alias} → deleted {model}");
        }
        Assert.True(dangling.Count == 0, $"aliases left on deleted models: {string.Join("; ", dangling)}");
    }

    [Fact]
    public async Task A_start_racing_the_DELETE_of_its_model_never_leaves_a_deployment_of_a_deleted_model()
    {
        var orphans = new List<string>();
        var random = new Random(4);
        for (var round = 0; round < Rounds; round++)
        {
            // The deployment id is the model id (the default); an id that ends with a letter, so it could also be an alias.
            var model = AliasId("doomed");
            await Cluster.UploadOnnxModelAsync("doomed", model);
            var delay = random.Next(0, 15);
            var start = OutcomeAsync(() => Cluster.Grain<IDeploymentGrain>(model).Start(new StartDeploymentRequest { ModelId = model, WaitFor = AllocationState.Starting }));
            var delete = OutcomeAsync(async () =>
            {
                await Task.Delay(delay);
                await Cluster.Grain<ITrainedModelGrain>(model).Delete(false);
            });
            await Task.WhenAll(start, delete);
            var (startError, deleteError) = (await start, await delete);
            Output.WriteLine($"round {round} (delete after {delay} ms): start {(startError is null ? "ok" : Refusal(startError)?.Reason ?? startError.ToString())}; " +
                              $"delete {(deleteError is null ? "ok" : Refusal(deleteError)?.Reason ?? deleteError.ToString())}");
            Assert.True(startError is null || Refusal(startError) is not null, $"start: {startError}");
            Assert.True(deleteError is null || Refusal(deleteError) is { Status: 409 }, $"delete: {deleteError}");

            await Cluster.CommittedAsync();
            var modelExists = await Cluster.Grain<ITrainedModelGrain>(model).GetConfig().WaitAsync(Bound) is not null;
            var deployed = await Cluster.Grain<IAssignmentCoordinatorGrain>(AssignmentCoordinatorGrain.Key).GetAssignment(model).WaitAsync(Bound) is not null;
            if (deployed && !modelExists)
            {
                // Its id is held by nothing in the namespace, so an alias may now take the id of a live deployment.
                var other = await Cluster.PutTreeModelAsync(MlApi.NewId("other"));
                var aliasPut = await OutcomeAsync(() => Cluster.Grain<IModelAliasGrain>(model).Put(new PutModelAliasRequest { ModelId = other, ModelAlias = model }));
                await Cluster.CommittedAsync();
                var ids = await Cluster.RowsAsync("SELECT kind, model_id FROM ml_ids WHERE id = @i", ("i", model));
                orphans.Add($"deployment [{model}] of deleted model [{model}]; namespace then let an alias take the id: " +
                            $"{(aliasPut is null ? "yes" : "no, " + Refusal(aliasPut)?.Reason)}; ml_ids for it: " +
                            string.Join(", ", ids.Select(r => $"{r[0]} of {r[1]}")));
            }
            if (deployed && modelExists) await Cluster.Grain<IDeploymentGrain>(model).Stop(new StopDeploymentRequest { DeploymentId = model }).WaitAsync(Bound);
        }
        var unheld = await Cluster.RowsAsync("""
            SELECT d.deployment_id FROM ml_deployments d
            WHERE NOT EXISTS (SELECT 1 FROM ml_ids i WHERE i.id = d.deployment_id AND ((i.kind = 'deployment' AND i.model_id = d.model_id) OR (i.kind = 'model' AND i.id = d.model_id)))
            """);
        Output.WriteLine($"deployments whose id the namespace does not hold for them: {unheld.Count}");
        Assert.True(orphans.Count == 0, string.Join("\n", orphans));
        Assert.Empty(unheld);
    }
}
