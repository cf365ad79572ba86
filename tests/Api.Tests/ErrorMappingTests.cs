using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Runtime;
using TrainedModelsOrleans.Api.Http;
using Xunit;

namespace TrainedModelsOrleans.Api.Tests;

/// <summary>What the API answers when the cluster under a request fails, without a cluster: the middleware around a throwing endpoint.</summary>
public sealed class ErrorMappingTests
{
    [Fact]
    public async Task A_call_Orleans_cancelled_while_the_nodes_changed_is_a_503_not_a_500()
    {
        var (status, body) = await AnswerAsync(new OperationCanceledException("The operation was canceled."));
        Assert.Equal(503, status);
        Assert.Equal("node_not_connected_exception", body["error"]!["type"]!.GetValue<string>());
        Assert.Contains("nodes changed", body["error"]!["reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_lost_node_is_a_503_and_anything_unknown_a_500_in_the_same_shape()
    {
        Assert.Equal(503, (await AnswerAsync(new SiloUnavailableException("The target silo became unavailable"))).Status);
        var (status, body) = await AnswerAsync(new InvalidOperationException("boom"));
        Assert.Equal(500, status);
        Assert.Equal(500, body["status"]!.GetValue<int>());
    }

    private static async Task<(int Status, JsonNode Body)> AnswerAsync(Exception thrown)
    {
        var middleware = new ElasticsearchMiddleware(_ => throw thrown, NullLogger<ElasticsearchMiddleware>.Instance, new InputOptions());
        var context = new DefaultHttpContext();
        context.Response.Body = new MemoryStream();
        await middleware.InvokeAsync(context);
        context.Response.Body.Position = 0;
        return (context.Response.StatusCode, JsonNode.Parse(context.Response.Body)!);
    }
}
