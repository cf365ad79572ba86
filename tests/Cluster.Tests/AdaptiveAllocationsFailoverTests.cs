using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace TrainedModelsOrleans.Cluster.Tests;

/// <summary>The adaptive allocations scaler lives in the coordinator: killed with its silo, it carries on on a survivor.</summary>
public sealed class AdaptiveAllocationsFailoverTests(ITestOutputHelper output)
{
    [Fact]
    public async Task The_scaler_carries_on_after_its_node_is_killed()
    {
        await using var cluster = await TestCluster.StartAsync(new TestClusterOptions
        {
            Silos = 2,
            ExtraArguments =
            [
                "--Ml:AdaptiveAllocations:PollInterval=00:00:00.500",
                "--Ml:AdaptiveAllocations:ScaleCooldownTime=00:00:02",
                "--Ml:AdaptiveAllocations:ScaleToZeroTime=00:00:04",
            ],
        }, output);
        var model = await TinyModel.UploadAsync(cluster[0].Http);
        (await cluster[0].Http.SendJsonAsync(HttpMethod.Post, $"/_ml/trained_models/{model}/deployment/_start",
            JsonNode.Parse("""{"adaptive_allocations":{"enabled":true,"min_number_of_allocations":0,"max_number_of_allocations":2}}"""))).AssertOk();

        var client = (await cluster.CreateClientAsync([.. cluster.Silos])).Client;
        var scalerNode = await client.GetGrain<IAssignmentCoordinatorGrain>(AssignmentCoordinatorGrain.Key).GetNode();
        var victim = cluster.Silos.ToList().FindIndex(s => s.Name == scalerNode);
        Assert.True(victim >= 0, $"the coordinator runs on {scalerNode}");
        var survivor = cluster[1 - victim];
        await cluster.KillAsync(victim);
        await cluster.WaitUntilDeclaredDeadAsync(victim, cluster.Options.DeathDetection + TimeSpan.FromSeconds(5));

        // Idle, the deployment goes to zero: the scaler now runs on the survivor.
        DeploymentState? state = null;
        await cluster.WaitUntilAsync(async () => (state = await DeploymentState.ReadAsync(survivor.Http, model)) is { NumberOfAllocations: 0, State: "started" },
            TimeSpan.FromSeconds(40), () => $"the deployment did not scale to zero after the scaler's node died: {state}");
        var survivorClient = (await cluster.CreateClientAsync(survivor)).Client;
        Assert.Equal(survivor.Name, await survivorClient.GetGrain<IAssignmentCoordinatorGrain>(AssignmentCoordinatorGrain.Key).GetNode());
        Assert.Equal(0, await DeploymentState.StoredNumberOfAllocationsAsync(cluster, model));

        // And a request wakes it there.
        (await TinyModel.InferAsync(survivor.Http, model, TinyModel.Row(1))).AssertError(409, "status_exception", "starting deployment of one allocation");
        await cluster.WaitUntilAsync(async () => (await TinyModel.InferAsync(survivor.Http, model, TinyModel.Row(1))).Status == System.Net.HttpStatusCode.OK,
            TimeSpan.FromSeconds(20), () => "the deployment did not wake");
        await MlApi.AssertNoNodeOversubscribedAsync(cluster.DataSource);
    }
}
