using TrainedModelsOrleans.Grains.Serving;
using TrainedModelsOrleans.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace TrainedModelsOrleans.Cluster.Tests;

public sealed class DeploymentSpreadTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_deployment_started_through_one_silo_spreads_over_the_nodes_and_every_silo_serves_it()
    {
        await using var cluster = await TestCluster.StartAsync(output: output);
        var model = await TinyModel.UploadAsync(cluster[0].Http);

        var started = (await cluster[1].Http.StartDeploymentAsync(model, "number_of_allocations=3&threads_per_allocation=1&wait_for=started")).AssertOk();
        Assert.Equal("started", started.Body["assignment"]!["assignment_state"]!.GetValue<string>());

        // The third silo reports the plan the second one made: several nodes, each serving, three allocations in all.
        DeploymentState? state = null;
        await cluster.WaitUntilAsync(async () => (state = await DeploymentState.ReadAsync(cluster[2].Http, model)) is { AllRoutesStarted: true, Allocations: 3 },
            TimeSpan.FromSeconds(30), () => $"the deployment was not started on its nodes: {state}");
        cluster.Log($"{cluster[2].Name} shows {state}");
        Assert.True(state!.Nodes.Count >= 2, $"three allocations on nodes of two processors need two nodes at least: {state}");
        Assert.Subset(cluster.Silos.Select(s => s.Name).ToHashSet(), state.Nodes.Keys.ToHashSet());
        Assert.Equal(state.Nodes.Keys.Order(), await cluster.RowsAsync(
            "SELECT node FROM deployment_routes WHERE deployment_id = $1 AND routing_state = 'started' AND current_allocations > 0 ORDER BY node", model));
        await MlApi.AssertNoNodeOversubscribedAsync(cluster.DataSource);

        for (var i = 0; i < cluster.Silos.Count; i++)
        {
            var rows = new[] { TinyModel.Row(10 * i), TinyModel.Row(10 * i + 1) };
            TinyModel.AssertInferResults(await TinyModel.InferAsync(cluster[i].Http, model, rows), rows);
        }
        var sdkRows = Enumerable.Range(100, 4).Select(TinyModel.Row).ToArray();
        var outputs = await (await cluster.ClientAsync()).GetGrain<IInferenceGrain>("sdk").InferTensors(model, TinyModel.Docs(sdkRows));
        TinyModel.AssertTensorResults(outputs, sdkRows);
    }
}
