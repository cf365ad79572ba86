using TrainedModelsOrleans.TestSupport;
using System.Text.Json.Nodes;
using Xunit;

namespace TrainedModelsOrleans.Api.Tests;

/// <summary>A cluster of two ML nodes of 4 processors each: the cache clear reaches both, _ml/info adds both up.</summary>
public sealed class TwoNodeCacheAndInfoTests(ServiceFixture service) : IClassFixture<ServiceFixture>
{
    [Fact]
    public async Task Cache_clear_empties_the_cache_on_every_node_and_ml_info_counts_both_nodes()
    {
        var second = await service.AddNodeAsync(Deployments.NewId("second"), 4);
        // The router prefers the node a request arrives on: each node's own API sends it work.
        using var secondHttp = TestSecurity.Client(second.BaseAddress, TimeSpan.FromSeconds(60));
        var info = (await service.GetAsync("/_ml/info")).AssertOk().Body["limits"]!;
        Assert.Equal("32768mb", info["total_ml_memory"]!.GetValue<string>());
        Assert.Equal("16334mb", info["effective_max_model_memory_limit"]!.GetValue<string>());
        Assert.Equal(8, info["total_ml_processors"]!.GetValue<int>());
        Assert.Equal(4, info["max_single_ml_node_processors"]!.GetValue<int>());

        // Two allocations of 4 threads: one on each node.
        var model = await service.UploadModelAsync("spread");
        var assignment = (await service.StartAsync(model, "number_of_allocations=2&threads_per_allocation=4&cache_size=1mb&wait_for=fully_allocated"))
            .AssertOk().Body["assignment"]!;
        Assert.Equal(2, assignment["routing_table"]!.AsObject().Count);

        var data = new JsonArray(Enumerable.Range(0, 64).Select(i => (JsonNode?)(i / 128.0)).ToArray());
        var doc = new JsonObject { ["docs"] = new JsonArray(new JsonObject { ["tensor"] = new JsonObject { ["shape"] = new JsonArray(1, 64), ["data"] = data } }) };
        await InferOnBothAsync(secondHttp, model, doc);
        var before = await PerNodeAsync(model);
        Assert.Equal(2, before.Count);
        foreach (var (count, hits) in before.Values) Assert.Equal(count - 1, hits); // each node ran the doc once, then answered from its cache

        (await service.PostAsync($"/_ml/trained_models/{model}/deployment/cache/_clear")).AssertOk();
        await InferOnBothAsync(secondHttp, model, doc);
        var after = await PerNodeAsync(model);
        foreach (var (node, (count, hits)) in after)
        {
            var ran = count - before[node].Count;
            Assert.True(ran > 0, $"node {node} got no request after the clear");
            Assert.Equal(ran - 1, hits - before[node].Hits); // the first after the clear ran the model again on this node
        }
        (await service.StopAsync(model)).AssertOk();
    }

    private async Task InferOnBothAsync(HttpClient secondHttp, string model, JsonObject doc)
    {
        for (var i = 0; i < 6; i++)
        {
            (await service.PostAsync($"/_ml/trained_models/{model}/_infer", doc.DeepClone())).AssertOk();
            (await secondHttp.SendJsonAsync(HttpMethod.Post, $"/_ml/trained_models/{model}/_infer", doc.DeepClone())).AssertOk();
        }
    }

    private async Task<Dictionary<string, (long Count, long Hits)>> PerNodeAsync(string model)
    {
        var nodes = (await service.GetAsync($"/_ml/trained_models/{model}/_stats")).AssertOk()
            .Body["trained_model_stats"]![0]!["deployment_stats"]!["nodes"]!.AsArray();
        return nodes.ToDictionary(
            n => n!["node"]!.AsObject().Single().Key,
            n => (n!["inference_count"]!.GetValue<long>(), n["inference_cache_hit_count"]!.GetValue<long>()));
    }
}
