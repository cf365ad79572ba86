using System.Diagnostics;
using Orleans;
using Orleans.Transactions;
using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.ModelStore;
using TrainedModelsOrleans.Grains.Models;
using TrainedModelsOrleans.TestSupport;
using Xunit;
using Xunit.Abstractions;
using static TrainedModelsOrleans.ControlPlane.Tests.ControlPlaneCluster;

namespace TrainedModelsOrleans.ControlPlane.Tests;

/// <summary>
/// The one namespace of model ids, deployment ids and aliases (IMlIdsGrain), and the changes that claim in it
/// together with their own state: alias moves, model PUTs, and transactions a participant refuses.
/// </summary>
public sealed class NamespaceTransactionTests(ControlPlaneCluster cluster, ITestOutputHelper output) : ControlPlaneTest(cluster, output)
{

    /// <summary>
    /// Two aliases moved at once among four models, each by six racing PUTs with reassign=true, for ten rounds:
    /// every move is accepted, and after each round each alias points at one of the models its round named, the same
    /// in the alias grain, the namespace grain, the namespace's committed row and the alias's committed row.
    /// </summary>
    [Fact]
    public async Task Racing_alias_moves_leave_each_alias_on_exactly_one_model_everywhere()
    {
        var models = new List<string>();
        for (var i = 0; i < 4; i++) models.Add(await Cluster.PutTreeModelAsync(MlApi.NewId("aliased")));
        var aliases = new[] { AliasId("moving"), AliasId("moving") };
        foreach (var alias in aliases) await Cluster.Grain<IModelAliasGrain>(alias).Put(new PutModelAliasRequest { ModelId = models[0], ModelAlias = alias }).WaitAsync(Bound);

        var random = new Random(5);
        var callers = Cluster.Callers;
        var reassign = Query(("reassign", "true"));
        for (var round = 0; round < 10; round++)
        {
            var moves = aliases.SelectMany(alias => Enumerable.Range(0, 6).Select(_ =>
            {
                var model = models[random.Next(models.Count)];
                var caller = callers[random.Next(callers.Count)];
                return (Alias: alias, Model: model, Outcome: OutcomeAsync(() => caller.GetGrain<IModelAliasGrain>(alias).Put(new PutModelAliasRequest { ModelId = model, ModelAlias = alias, Reassign = true })));
            })).ToArray();
            var errors = await Task.WhenAll(moves.Select(m => m.Outcome));
            foreach (var (move, error) in moves.Zip(errors)) Assert.True(error is null, $"moving {move.Alias} to {move.Model}: {error}");

            var namespaceNow = await Ids.GetCommitted().WaitAsync(Bound);
            await Cluster.CommittedAsync();
            foreach (var alias in aliases)
            {
                var target = await Cluster.Grain<IModelAliasGrain>(alias).GetModelId().WaitAsync(Bound);
                Assert.Contains(target, moves.Where(m => m.Alias == alias).Select(m => m.Model));
                Assert.Equal((MlIdEntry.Alias, target), (namespaceNow[alias].Kind, namespaceNow[alias].ModelId));
                var rows = await Cluster.RowsAsync("SELECT kind, model_id FROM ml_ids WHERE id = @a", ("a", alias));
                Assert.Equal((MlIdEntry.Alias, target), ((string)Assert.Single(rows)[0]!, (string)rows[0][1]!));
                var aliasRows = await Cluster.RowsAsync("SELECT state ->> 'ModelId' FROM ml_committed_states('model-alias') WHERE grain_key = @a", ("a", alias));
                Assert.Equal(target, (string)Assert.Single(aliasRows)[0]!);
            }
            // No other entry names these aliases, and every alias entry of these models belongs to one of them.
            Assert.Equal(aliases.Order(StringComparer.Ordinal), (await Cluster.RowsAsync(
                "SELECT id FROM ml_ids WHERE kind = 'alias' AND model_id = ANY(@m) ORDER BY id COLLATE \"C\"", ("m", models.ToArray()))).Select(r => (string)r[0]!));
        }
    }

    /// <summary>
    /// The namespace's own refusal of a second deployment of one id (the backstop under the coordinator's check):
    /// twenty racing transactions claim one deployment id for twenty models; one commits, the others get ES's 409.
    /// </summary>
    [Fact]
    public async Task Of_twenty_racing_claims_of_one_deployment_id_one_commits_and_the_others_get_409()
    {
        var deploymentId = MlApi.NewId("claimed-dep");
        var models = Enumerable.Range(0, 20).Select(i => $"model-{i}").ToArray();

        var errors = await Task.WhenAll(models.Select(model => OutcomeAsync(() =>
            Cluster.Transactions.RunTransaction(TransactionOption.Create, () => Ids.Claim(deploymentId, MlIdEntry.ForDeployment(model))))));

        var winner = Assert.Single(models.Zip(errors), r => r.Second is null).First;
        var expected = DeploymentErrors.AlreadyStarted(deploymentId);
        foreach (var error in errors.Where(e => e is not null))
        {
            Assert.IsAssignableFrom<OrleansTransactionAbortedException>(error);
            Assert.Equal((expected.Status, expected.Type, expected.Reason), (Refusal(error)?.Status, Refusal(error)?.Type, Refusal(error)?.Reason));
        }
        Assert.Equal((MlIdEntry.Deployment, winner), await HolderAsync(deploymentId));

        // Not a real deployment: give the id back.
        await Cluster.Transactions.RunTransaction(TransactionOption.Create, () => Ids.Release(deploymentId, MlIdEntry.Deployment)).WaitAsync(Bound);
        await AssertNotClaimedAsync(deploymentId);
    }

    /// <summary>A second claim that collides aborts the transaction: the first claim, made in the same transaction, is not there.</summary>
    [Fact]
    public async Task A_claim_in_a_transaction_whose_second_claim_collides_commits_nothing()
    {
        var taken = await Cluster.PutTreeModelAsync(MlApi.NewId("taken"));
        var fresh = AliasId("fresh");

        var error = await OutcomeAsync(() => Cluster.Transactions.RunTransaction(TransactionOption.Create, async () =>
        {
            await Ids.Claim(fresh, MlIdEntry.ForAlias(taken));
            await Ids.Claim(taken, MlIdEntry.ForDeployment("some-other-model"));
        }));

        AssertAborted(error, DeploymentErrors.IdTakenByModel(taken));
        await AssertNotClaimedAsync(fresh);
        Assert.Equal((MlIdEntry.Model, taken), await HolderAsync(taken));
    }

    /// <summary>The same with the refusal from another grain: a node refusing a reservation beyond its processors.</summary>
    [Fact]
    public async Task A_claim_in_a_transaction_that_another_participant_refuses_commits_nothing()
    {
        var node = Cluster.Nodes.MinBy(n => n.Processors)!;
        var fresh = AliasId("fresh");
        var model = await Cluster.PutTreeModelAsync(MlApi.NewId("claimed"));
        await Cluster.CommittedAsync();
        var capacityBefore = await Cluster.CommittedStateAsync("node-capacity", node.Name);

        var error = await OutcomeAsync(() => Cluster.Transactions.RunTransaction(TransactionOption.Create, async () =>
        {
            await Ids.Claim(fresh, MlIdEntry.ForAlias(model));
            await Cluster.Grain<INodeCapacityGrain>(node.Name).Reserve(new Dictionary<string, NodeReservation>(StringComparer.Ordinal)
            {
                [fresh] = new(ThreadsPerAllocation: node.Processors, Allocations: 2, Priority.Normal),
            });
        }));

        Assert.IsAssignableFrom<OrleansTransactionAbortedException>(error);
        Assert.Equal(429, Refusal(error)?.Status);
        await AssertNotClaimedAsync(fresh);
        Assert.Equal(capacityBefore, await Cluster.CommittedStateAsync("node-capacity", node.Name));
    }

    /// <summary>And with the caller throwing after every participant accepted its change.</summary>
    [Fact]
    public async Task Claims_in_a_transaction_whose_caller_throws_afterwards_commit_nothing()
    {
        var model = await Cluster.PutTreeModelAsync(MlApi.NewId("claimed"));
        var (first, second) = (AliasId("fresh"), AliasId("fresh"));

        var error = await OutcomeAsync(() => Cluster.Transactions.RunTransaction(TransactionOption.Create, async () =>
        {
            await Ids.Claim(first, MlIdEntry.ForAlias(model));
            await Ids.Claim(second, MlIdEntry.ForAlias(model));
            throw new InvalidOperationException("changed my mind");
        }));

        Assert.IsAssignableFrom<OrleansTransactionAbortedException>(error);
        await AssertNotClaimedAsync(first);
        await AssertNotClaimedAsync(second);
    }

    /// <summary>
    /// The namespace is the backstop between kinds: a model PUT and an alias PUT of the same new id, raced ten times,
    /// leave exactly one of them holding it, and every view agrees on which.
    /// </summary>
    [Fact]
    public async Task A_model_PUT_racing_an_alias_PUT_of_the_same_id_has_exactly_one_winner()
    {
        var target = await Cluster.PutTreeModelAsync(MlApi.NewId("target"));
        var (modelWins, aliasWins) = (0, 0);
        var callers = Cluster.Callers;
        for (var round = 0; round < 10; round++)
        {
            // From two different nodes' grain factories, as two API nodes would call.
            var id = AliasId("contested");
            var (modelCaller, aliasCaller) = (callers[1 + round % 2], callers[2 - round % 2]);
            var modelPut = OutcomeAsync(() => modelCaller.GetGrain<ITrainedModelGrain>(id).Put(new PutTrainedModelRequest { ModelId = id, Config = ModelUploads.TreeModel() }));
            var aliasPut = OutcomeAsync(() => aliasCaller.GetGrain<IModelAliasGrain>(id).Put(new PutModelAliasRequest { ModelId = target, ModelAlias = id }));
            var (modelError, aliasError) = (await modelPut, await aliasPut);
            Assert.True((modelError is null) != (aliasError is null), $"round {round}: model PUT {modelError?.ToString() ?? "ok"}; alias PUT {aliasError?.ToString() ?? "ok"}");

            var modelWon = modelError is null;
            var refusal = Refusal(modelWon ? aliasError : modelError);
            Assert.True(refusal is not null, $"not an Elasticsearch error: {aliasError ?? modelError}");
            Assert.Equal(400, refusal.Status);
            Assert.Equal(modelWon
                    ? "model_alias cannot be the same as an existing trained model_id"
                    : $"requested model_id [{id}] is the same as an existing model_alias. Model model_aliases and ids must be unique",
                refusal.Reason);
            if (modelWon) modelWins++;
            else aliasWins++;

            // The grains.
            Assert.Equal(modelWon, await Cluster.Grain<ITrainedModelGrain>(id).GetConfig().WaitAsync(Bound) is not null);
            Assert.Equal(modelWon ? null : target, await Cluster.Grain<IModelAliasGrain>(id).GetModelId().WaitAsync(Bound));
            var entry = (await Ids.GetCommitted().WaitAsync(Bound))[id];
            Assert.Equal(modelWon ? (MlIdEntry.Model, id) : (MlIdEntry.Alias, target), (entry.Kind, entry.ModelId));
            // The committed rows.
            await Cluster.CommittedAsync();
            var rows = await Cluster.RowsAsync("SELECT kind, model_id FROM ml_ids WHERE id = @i", ("i", id));
            Assert.Equal(modelWon ? ("model", id) : ("alias", target), ((string)Assert.Single(rows)[0]!, (string)rows[0][1]!));
            Assert.Equal(modelWon ? 1 : 0, (await Cluster.RowsAsync("SELECT model_id FROM ml_models WHERE model_id = @i", ("i", id))).Count);
            var aliasRows = await Cluster.RowsAsync("SELECT state ->> 'ModelId' FROM ml_committed_states('model-alias') WHERE grain_key = @i", ("i", id));
            Assert.Equal(modelWon ? null : target, aliasRows.Select(r => (string?)r[0]).SingleOrDefault());
        }
        Output.WriteLine($"the model PUT won {modelWins} times, the alias PUT {aliasWins} times");
    }

    private void AssertAborted(Exception? error, Grains.Errors.ElasticsearchException expected)
    {
        Output.WriteLine($"aborted: {error}");
        Assert.IsAssignableFrom<OrleansTransactionAbortedException>(error);
        var refusal = Refusal(error);
        Assert.NotNull(refusal);
        Assert.Equal((expected.Status, expected.Type, expected.Reason), (refusal.Status, refusal.Type, refusal.Reason));
    }

    private async Task AssertNotClaimedAsync(string id)
    {
        Assert.False((await Ids.GetCommitted().WaitAsync(Bound)).ContainsKey(id), $"{id} is claimed in the namespace grain");
        await Cluster.CommittedAsync();
        Assert.Empty(await Cluster.RowsAsync("SELECT kind FROM ml_ids WHERE id = @i", ("i", id)));
        // Nor prepared anywhere: no row holds the id at all, committed or pending.
        Assert.Equal(0L, await Cluster.Database.ScalarAsync<long>(
            "SELECT count(*) FROM orleansstorage WHERE graintypestring = 'ml-ids' AND position(@i in convert_from(payloadbinary, 'UTF8')) > 0", ("i", id)));
    }

    private async Task<(string Kind, string ModelId)> HolderAsync(string id)
    {
        await Cluster.CommittedAsync();
        var row = Assert.Single(await Cluster.RowsAsync("SELECT kind, model_id FROM ml_ids WHERE id = @i", ("i", id)));
        return ((string)row[0]!, (string)row[1]!);
    }
}
