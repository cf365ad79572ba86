using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using TrainedModelsOrleans.TestModels;
using Xunit;

namespace TrainedModelsOrleans.Ui.Tests;

/// <summary>The page's files and its cluster endpoint over plain HTTP: media types, revalidation, errors in ES's shape.</summary>
[Collection(MlPageCollection.Name)]
public sealed class MlPageFilesTests(MlPageFixture service)
{
    [Theory]
    [InlineData("/_ml/ui", "text/html; charset=utf-8")]
    [InlineData("/_ml/ui/ml-page.js", "text/javascript; charset=utf-8")]
    [InlineData("/_ml/ui/ml-page.css", "text/css; charset=utf-8")]
    [InlineData("/_ml/ui/uPlot.iife.min.js", "text/javascript; charset=utf-8")]
    public async Task Files_have_their_media_type_and_are_revalidated_with_their_etag(string path, string mediaType)
    {
        using var first = await service.Http.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(mediaType, first.Content.Headers.ContentType!.ToString());
        Assert.Equal("no-cache", first.Headers.CacheControl!.ToString());
        var etag = first.Headers.ETag!;
        Assert.False(etag.IsWeak);

        using var again = new HttpRequestMessage(HttpMethod.Get, path);
        again.Headers.IfNoneMatch.Add(new EntityTagHeaderValue(etag.Tag));
        using var revalidated = await service.Http.SendAsync(again);
        Assert.Equal(HttpStatusCode.NotModified, revalidated.StatusCode);
        Assert.Empty(await revalidated.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task An_unknown_file_is_404_and_an_unknown_parameter_400_in_elasticsearch_shape()
    {
        (await service.Http.SendJsonAsync(HttpMethod.Get, "/_ml/ui/nothing.js")).AssertError(404, "resource_not_found_exception", "no file [nothing.js]");
        (await service.Http.SendJsonAsync(HttpMethod.Get, "/_ml/ui?refresh=1")).AssertError(400, "illegal_argument_exception", "unrecognized parameter: [refresh]");
    }

    [Fact]
    public async Task Cluster_endpoint_gives_each_live_node_with_its_offer_and_what_deployments_hold()
    {
        var model = MlApi.NewId("ui-nodes");
        await service.Http.UploadOnnxModelAsync(model, TestOnnxModels.Mlp());
        (await service.Http.StartDeploymentAsync(model, "wait_for=started&number_of_allocations=2")).AssertOk();
        (await service.Http.SendJsonAsync(HttpMethod.Put, $"/_ml/trained_models/{model}/model_aliases/{model}-alias")).AssertOk();
        try
        {
            var cluster = (await service.Http.SendJsonAsync(HttpMethod.Get, "/_ml/ui/api/cluster")).AssertOk().Body;
            var node = Assert.Single(cluster["nodes"]!.AsArray(), n => (string?)n!["name"] == MlPageFixture.NodeName)!;
            Assert.Equal(MlPageFixture.Processors, (int)node["allocated_processors"]!);
            Assert.Equal(17179869184L, (long)node["memory_bytes"]!);
            var route = Assert.Single(node["routes"]!.AsArray(), r => (string?)r!["deployment_id"] == model)!;
            Assert.Equal(2, (int)route["number_of_allocations"]!);
            Assert.Equal("started", (string?)route["routing_state"]);
            Assert.True((int)node["used_processors"]! >= 2);
            Assert.True((long)node["used_memory_bytes"]! > 0);
            Assert.Equal(model, (string?)cluster["model_aliases"]![$"{model}-alias"]);
        }
        finally
        {
            (await service.Http.StopDeploymentAsync(model)).AssertOk();
        }
    }
}
