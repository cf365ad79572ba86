using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Orleans;
using Orleans.Core.Internal;
using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.ModelStore;
using TrainedModelsOrleans.Grains.Models;
using TrainedModelsOrleans.Grains.Serving;
using TrainedModelsOrleans.TestSupport;
using Xunit;
using Xunit.Abstractions;
using static TrainedModelsOrleans.ControlPlane.Tests.ControlPlaneCluster;

namespace TrainedModelsOrleans.ControlPlane.Tests;

/// <summary>
/// Reads outside transactions (each silo's inference view, GET listings and _stats, lookups of model ids) answer from
/// committed state without writing to PostgreSQL, and see every change as soon as it has committed. Orleans commits
/// even a read-only transaction by storing its read timestamp, so a transaction per read rewrote the namespace row.
/// </summary>
public sealed class CommittedReadTests(ControlPlaneCluster cluster, ITestOutputHelper output) : ControlPlaneTest(cluster, output)
{
    private const int Reads = 200;

    private IModelStoreGrain Store => Cluster.Grain<IModelStoreGrain>("models");

    private IReadOnlyList<InferenceTargets> Views =>
        Cluster.Cluster.Silos.Select(s => s.SiloHost.Services.GetRequiredService<InferenceTargets>()).ToArray();

    [Fact]
    public async Task Inference_view_refreshes_and_listings_rewrite_no_state_row()
    {
        var prefix = MlApi.NewId("quiet");
        var model = await Cluster.PutTreeModelAsync($"{prefix}-model");
        var alias = AliasId("quiet");
        await Cluster.Grain<IModelAliasGrain>(alias).Put(new PutModelAliasRequest { ModelId = model, ModelAlias = alias }).WaitAsync(Bound);
        // Every reader once first: an activation reads its own committed state once.
        await ReadEverywhereAsync(prefix);
        await Cluster.CommittedAsync();

        var before = await StateRowVersionsAsync();
        for (var i = 0; i < Reads; i++) await ReadEverywhereAsync(prefix);
        await Cluster.CommittedAsync();
        var rewritten = Rewritten(before, await StateRowVersionsAsync());

        Output.WriteLine($"{Reads} rounds of {Views.Count} inference-view refreshes, a listing and a _stats: {rewritten.Count} state rows rewritten");
        Assert.True(rewritten.Count == 0, string.Join("\n", rewritten));
    }

    [Fact]
    public async Task Lookups_of_unknown_model_ids_rewrite_no_state_row()
    {
        await Ids.GetCommitted().WaitAsync(Bound);
        await Cluster.CommittedAsync();
        var before = await StateRowVersionsAsync();

        // Each a new model grain activation, as GET or _infer of an id that names nothing makes.
        for (var i = 0; i < Reads / 4; i++)
        {
            var unknown = MlApi.NewId("unknown");
            Assert.Null(await Cluster.Grain<ITrainedModelGrain>(unknown).GetConfig().WaitAsync(Bound));
            Assert.Null(await Views[i % Views.Count].ConfigAsync(MlApi.NewId("unknown")).WaitAsync(Bound));
        }
        await Cluster.CommittedAsync();
        var rewritten = Rewritten(before, await StateRowVersionsAsync());

        Assert.True(rewritten.Count == 0, string.Join("\n", rewritten));
    }

    /// <summary>
    /// Alias moves, model PUTs and DELETEs, and a re-activation of the namespace grain between reads: right after each
    /// change commits, both silos' inference views (a refresh asked for after the change) and the listings show it.
    /// </summary>
    [Fact]
    public async Task Readers_see_each_alias_move_and_model_change_as_soon_as_it_commits()
    {
        var prefix = MlApi.NewId("moved");
        var models = new[] { await Cluster.PutTreeModelAsync($"{prefix}-a"), await Cluster.PutTreeModelAsync($"{prefix}-b") };
        var alias = AliasId("moved");
        await MoveAsync(alias, models[0]);
        await ReadEverywhereAsync(prefix);

        for (var round = 0; round < 6; round++)
        {
            var target = models[(round + 1) % 2];
            var versions = await StateRowVersionsAsync();
            await MoveAsync(alias, target);
            await AssertViewsAsync(alias, target);
            Assert.Equal(target, await ListedModelIdAsync(alias));
            await Cluster.CommittedAsync();
            Output.WriteLine($"round {round}: alias moved to {target}; rows written by the move and the reads after it: "
                             + string.Join(", ", Rewritten(versions, await StateRowVersionsAsync())));

            var added = await Cluster.PutTreeModelAsync($"{prefix}-{round}");
            Assert.Contains(added, await ListedModelIdsAsync($"{prefix}*"));
            Assert.Contains(added, (await Store.GetStats(new GetTrainedModelsRequest { ModelId = $"{prefix}*" }).WaitAsync(Bound)).TrainedModelStats
                .Select(m => m.ModelId));
            await Cluster.Grain<ITrainedModelGrain>(added).Delete(false).WaitAsync(Bound);
            Assert.DoesNotContain(added, await ListedModelIdsAsync($"{prefix}*"));
            Assert.Equal(MlIdEntry.Model, (await Ids.FindCommitted(models[0]).WaitAsync(Bound))?.Kind);
            Assert.Null(await Ids.FindCommitted(added).WaitAsync(Bound));

            // A new activation of the namespace grain starts from what committed.
            if (round == 3) await Ids.AsReference<IGrainManagementExtension>().DeactivateOnIdle();
        }
        Assert.Equal(models.Order(StringComparer.Ordinal), await ListedModelIdsAsync($"{prefix}*"));
    }

    private async Task MoveAsync(string alias, string model) =>
        await Cluster.Grain<IModelAliasGrain>(alias).Put(new PutModelAliasRequest { ModelId = model, ModelAlias = alias, Reassign = true }).WaitAsync(Bound);

    /// <summary>Each silo's view, refreshed after now (as a request that missed asks for), resolves the alias to <paramref name="model"/>.</summary>
    private async Task AssertViewsAsync(string alias, string model)
    {
        var changedBy = DateTimeOffset.UtcNow;
        foreach (var view in Views)
        {
            var snapshot = await view.CurrentAsync(changedBy).AsTask().WaitAsync(Bound);
            Assert.Equal(model, snapshot.Aliases.GetValueOrDefault(alias));
            Assert.Equal(model, snapshot.Resolve(alias).ModelId);
        }
    }

    /// <summary>Each silo's inference view refreshed, a listing and a _stats.</summary>
    private async Task ReadEverywhereAsync(string prefix)
    {
        foreach (var view in Views)
        {
            view.Invalidate();
            await view.CurrentAsync().AsTask().WaitAsync(Bound);
        }
        await Store.GetModels(new GetTrainedModelsRequest { ModelId = $"{prefix}*" }).WaitAsync(Bound);
        await Store.GetStats(new GetTrainedModelsRequest { ModelId = $"{prefix}*" }).WaitAsync(Bound);
    }

    private async Task<string> ListedModelIdAsync(string idOrAlias) => Assert.Single(await ListedModelIdsAsync(idOrAlias));

    private async Task<IReadOnlyList<string>> ListedModelIdsAsync(string expression) =>
        (await Store.GetModels(new GetTrainedModelsRequest { ModelId = expression }).WaitAsync(Bound)).TrainedModelConfigs
        .Select(m => m.Config.ModelId).ToArray();

    /// <summary>Every grain state row's version (the ADO.NET storage bumps it on each write), by state name and key.</summary>
    private async Task<Dictionary<string, long>> StateRowVersionsAsync() =>
        (await Cluster.RowsAsync("SELECT graintypestring || ' ' || COALESCE(grainidextensionstring, ''), version FROM orleansstorage"))
        .ToDictionary(r => (string)r[0]!, r => Convert.ToInt64(r[1]), StringComparer.Ordinal);

    /// <summary>The rows written between two readings of <see cref="StateRowVersionsAsync"/>: "state key vN→vM".</summary>
    private static List<string> Rewritten(Dictionary<string, long> before, Dictionary<string, long> after) =>
        after.Where(r => !before.TryGetValue(r.Key, out var version) || version != r.Value)
            .Select(r => $"{r.Key} v{(before.TryGetValue(r.Key, out var version) ? version : 0)}→v{r.Value}").ToList();
}
