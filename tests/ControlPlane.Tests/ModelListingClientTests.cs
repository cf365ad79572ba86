using System.Text.Json.Nodes;
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
/// The listing and stats as an SDK caller sees them: <see cref="IModelStoreGrain"/> called through the cluster's Orleans
/// client answers typed responses (no Elasticsearch JSON), across the client's gateway and Orleans' serializer.
/// </summary>
public sealed class ModelListingClientTests(ControlPlaneCluster cluster, ITestOutputHelper output) : ControlPlaneTest(cluster, output)
{
    private IModelStoreGrain Store => Cluster.Grain<IModelStoreGrain>("sdk");

    [Fact]
    public async Task Listing_answers_the_stored_configs_with_count_paging_and_the_asked_definition()
    {
        var prefix = MlApi.NewId("sdk-list");
        var onnx = await Cluster.UploadOnnxModelAsync("sdk-list", $"{prefix}-a");
        var tree = await Cluster.PutTreeModelAsync($"{prefix}-b");

        var all = await Store.GetModels(new GetTrainedModelsRequest { ModelId = $"{prefix}-*" }).WaitAsync(Bound);

        Assert.Equal(2, all.Count);
        Assert.Equal([onnx, tree], all.TrainedModelConfigs.Select(m => m.Config.ModelId));
        var onnxConfig = all.TrainedModelConfigs[0].Config;
        Assert.Equal(TrainedModelType.Onnx, onnxConfig.ModelType);
        Assert.True(onnxConfig.FullyDefined);
        Assert.Equal(["test"], onnxConfig.Tags);
        Assert.Equal("input", onnxConfig.Onnx!.Inputs[0].Name);
        Assert.Equal(TrainedModelType.TreeEnsemble, all.TrainedModelConfigs[1].Config.ModelType);
        Assert.All(all.TrainedModelConfigs, m => Assert.Null(m.Definition)); // not asked for

        var secondPage = await Store.GetModels(new GetTrainedModelsRequest { ModelId = $"{prefix}-*", From = 1, Size = 1 }).WaitAsync(Bound);
        Assert.Equal(2, secondPage.Count);
        Assert.Equal(tree, Assert.Single(secondPage.TrainedModelConfigs).Config.ModelId);

        var withDefinition = await Store.GetModels(new GetTrainedModelsRequest { ModelId = tree, Include = ["definition"] }).WaitAsync(Bound);
        var listed = Assert.Single(withDefinition.TrainedModelConfigs);
        Assert.True(JsonNode.DeepEquals(ModelUploads.TreeModel()["definition"], listed.Definition), listed.Definition?.ToJsonString());
    }

    [Fact]
    public async Task Stats_answer_the_deployment_its_routes_and_each_nodes_counters()
    {
        var model = await Cluster.UploadOnnxModelAsync("sdk-stats");
        var config = (await Cluster.Grain<ITrainedModelGrain>(model).GetConfig().WaitAsync(Bound))!;

        var idle = Assert.Single((await Store.GetStats(new GetTrainedModelsRequest { ModelId = model }).WaitAsync(Bound)).TrainedModelStats);
        Assert.Equal(model, idle.ModelId);
        Assert.Equal(config.ModelSizeBytes, idle.ModelSizeStats.ModelSizeBytes);
        Assert.Equal((240L << 20) + 2 * config.ModelSizeBytes, idle.ModelSizeStats.RequiredNativeMemoryBytes);
        Assert.Equal(0, idle.PipelineCount);
        Assert.Equal(0, idle.InferenceStats!.InferenceCount);
        Assert.Null(idle.DeploymentStats);

        await Cluster.Grain<IDeploymentGrain>(model)
            .Start(new StartDeploymentRequest { ModelId = model, NumberOfAllocations = 2, WaitFor = AllocationState.Started }).WaitAsync(Bound);
        try
        {
            var docs = Enumerable.Range(0, 3)
                .Select(i => new[] { InferenceTensor.Of("input", Enumerable.Range(0, 64).Select(j => (float)Math.Sin(i * 64 + j)).ToArray(), 1, 64) })
                .ToArray();
            Assert.Equal(3, (await Cluster.Grain<IInferenceGrain>("sdk").InferTensors(model, docs).WaitAsync(Bound)).Length);

            var response = await Store.GetStats(new GetTrainedModelsRequest { ModelId = model }).WaitAsync(Bound);

            Assert.Equal(1, response.Count);
            var deployed = Assert.Single(response.TrainedModelStats);
            Assert.Equal(model, deployed.ModelId);
            var deployment = deployed.DeploymentStats!;
            Assert.Equal(model, deployment.Assignment.TaskParameters.DeploymentId);
            Assert.Equal(2, deployment.Assignment.TaskParameters.NumberOfAllocations);
            Assert.Equal(AssignmentState.Started, deployment.Assignment.AssignmentState);
            Assert.Equal(deployment.Assignment.RoutingTable.Keys.Order(StringComparer.Ordinal), deployment.Nodes.Select(n => n.NodeId));
            Assert.Equal(2, deployment.Assignment.RoutingTable.Values.Sum(r => r.CurrentAllocations));
            var nodeNames = Cluster.Nodes.Select(n => n.Name).ToArray();
            Assert.All(deployment.Nodes, node =>
            {
                Assert.Contains(node.NodeId, nodeNames);
                Assert.Equal(node.NodeId, node.Node!.Name);
                Assert.Equal(RoutingState.Started, deployment.Assignment.RoutingTable[node.NodeId].RoutingState);
                Assert.Equal(node.NodeId, node.Stats!.Node);
                Assert.Equal(0, node.Stats.ErrorCount);
            });
            Assert.Equal(3, deployment.Nodes.Sum(n => n.Stats!.InferenceCount));
        }
        finally
        {
            await Cluster.Grain<IDeploymentGrain>(model).Stop(new StopDeploymentRequest { DeploymentId = model }).WaitAsync(Bound);
        }

        var stopped = Assert.Single((await Store.GetStats(new GetTrainedModelsRequest { ModelId = model }).WaitAsync(Bound)).TrainedModelStats);
        Assert.Null(stopped.DeploymentStats);
    }
}
