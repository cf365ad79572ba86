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
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ReferenceRaceTests : IClassFixture<ControlPlaneCluster>, IDisposable
{
    private const int Rounds = 12;

    private readonly ControlPlaneCluster _cluster;
    private readonly ITestOutputHelper _output;
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public ReferenceRaceTests(ControlPlaneCluster cluster, ITestOutputHelper output)
    {
        _cluster = cluster;
        _output = output;
        cluster.Log.Output = output;
        output.WriteLine($"cluster of {string.Join(", ", cluster.Nodes.Select(n => n.Name))} ready in {cluster.StartTime.TotalMilliseconds:F0} ms");
    }

    public void Dispose()
    {
        _output.WriteLine($"test took {_clock.Elapsed.TotalMilliseconds:F0} ms");
        _cluster.Log.Output = null;
    }

    private IMlIdsGrain Ids => _cluster.Grain<IMlIdsGrain>(IMlIdsGrain.Key);

    [Fact]
    public async Task An_alias_PUT_racing_the_DELETE_of_its_model_never_leaves_the_alias_on_a_deleted_model()
    {
        var dangling = new List<string>();
        var random = new Random(3);
        for (var round = 0; round < 3 * Rounds; round++)
        {
            var model = await _cluster.PutTreeModelAsync(MlApi.NewId("doomed"));
            var alias = AliasId("racing");
            var delay = random.Next(0, 15);
            var put = OutcomeAsync(() => _cluster.Grain<IModelAliasGrain>(alias).Put(new PutModelAliasRequest { ModelId = model, ModelAlias = alias }));
            var delete = OutcomeAsync(async () =>
            {
                await Task.Delay(delay);
                await _cluster.Grain<ITrainedModelGrain>(model).Delete(false);
            });
            await Task.WhenAll(put, delete);
            var (putError, deleteError) = (await put, await delete);
            Assert.True(deleteError is null, $"round {round}: delete {deleteError}");
            if (putError is not null) Assert.Equal(404, Refusal(putError)?.Status);

            await _cluster.CommittedAsync();
            Assert.Null(await _cluster.Grain<ITrainedModelGrain>(model).GetConfig().WaitAsync(Bound));
            var target = await _cluster.Grain<IModelAliasGrain>(alias).GetModelId().WaitAsync(Bound);
            var entry = (await Ids.GetAll().WaitAsync(Bound)).GetValueOrDefault(alias);
            var rows = await _cluster.RowsAsync("SELECT model_id FROM ml_ids WHERE id = @a", ("a", alias));
            _output.WriteLine($"round {round} (delete after {delay} ms): alias PUT {(putError is null ? "ok" : Refusal(putError)?.Reason)}; " +
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
            await _cluster.UploadOnnxModelAsync("doomed", model);
            var delay = random.Next(0, 15);
            var start = OutcomeAsync(() => _cluster.Grain<IDeploymentGrain>(model).Start(new StartDeploymentRequest { ModelId = model, WaitFor = AllocationState.Starting }));
            var delete = OutcomeAsync(async () =>
            {
                await Task.Delay(delay);
                await _cluster.Grain<ITrainedModelGrain>(model).Delete(false);
            });
            await Task.WhenAll(start, delete);
            var (startError, deleteError) = (await start, await delete);
            _output.WriteLine($"round {round} (delete after {delay} ms): start {(startError is null ? "ok" : Refusal(startError)?.Reason ?? startError.ToString())}; " +
                              $"delete {(deleteError is null ? "ok" : Refusal(deleteError)?.Reason ?? deleteError.ToString())}");
            Assert.True(startError is null || Refusal(startError) is not null, $"start: {startError}");
            Assert.True(deleteError is null || Refusal(deleteError) is { Status: 409 }, $"delete: {deleteError}");

            await _cluster.CommittedAsync();
            var modelExists = await _cluster.Grain<ITrainedModelGrain>(model).GetConfig().WaitAsync(Bound) is not null;
            var deployed = await _cluster.Grain<IAssignmentCoordinatorGrain>(AssignmentCoordinatorGrain.Key).GetAssignment(model).WaitAsync(Bound) is not null;
            if (deployed && !modelExists)
            {
                // Its id is held by nothing in the namespace, so an alias may now take the id of a live deployment.
                var other = await _cluster.PutTreeModelAsync(MlApi.NewId("other"));
                var aliasPut = await OutcomeAsync(() => _cluster.Grain<IModelAliasGrain>(model).Put(new PutModelAliasRequest { ModelId = other, ModelAlias = model }));
                await _cluster.CommittedAsync();
                var ids = await _cluster.RowsAsync("SELECT kind, model_id FROM ml_ids WHERE id = @i", ("i", model));
                orphans.Add($"deployment [{model}] of deleted model [{model}]; namespace then let an alias take the id: " +
                            $"{(aliasPut is null ? "yes" : "no, " + Refusal(aliasPut)?.Reason)}; ml_ids for it: " +
                            string.Join(", ", ids.Select(r => $"{r[0]} of {r[1]}")));
            }
            if (deployed && modelExists) await _cluster.Grain<IDeploymentGrain>(model).Stop(new StopDeploymentRequest { DeploymentId = model }).WaitAsync(Bound);
        }
        var unheld = await _cluster.RowsAsync("""
            SELECT d.deployment_id FROM ml_deployments d
            WHERE NOT EXISTS (SELECT 1 FROM ml_ids i WHERE i.id = d.deployment_id AND ((i.kind = 'deployment' AND i.model_id = d.model_id) OR (i.kind = 'model' AND i.id = d.model_id)))
            """);
        _output.WriteLine($"deployments whose id the namespace does not hold for them: {unheld.Count}");
        Assert.True(orphans.Count == 0, string.Join("\n", orphans));
        Assert.Empty(unheld);
    }
}
