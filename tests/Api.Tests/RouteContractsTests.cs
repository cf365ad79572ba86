using TrainedModelsOrleans.Api.Http;
using Xunit;

namespace TrainedModelsOrleans.Api.Tests;

/// <summary>The parameter table's rules and the media-type rules as plain functions (no server).</summary>
public sealed class RouteContractsTests
{
    [Theory]
    [InlineData("forse", "force", 0.8f)]
    [InlineData("sise", "size", 0.75f)]
    [InlineData("h", "hh", 0.5f)]
    [InlineData("", "", 1f)]
    [InlineData("a", "", 0f)]
    public void Similarity_is_lucene_levenshtein_distance(string target, string other, float expected) =>
        Assert.Equal(expected, RouteContracts.Similarity(target, other), 5);

    [Fact]
    public void Unrecognized_lists_unknown_names_in_order_with_their_closest_accepted_names()
    {
        Assert.Equal("request [/p] contains unrecognized parameter: [forse] -> did you mean [force]?",
            RouteContracts.Unrecognized("/p", ["forse"], ["force", "pretty"]));
        Assert.Equal("request [/p] contains unrecognized parameters: [b], [fromat] -> did you mean any of [format, from]?",
            RouteContracts.Unrecognized("/p", ["fromat", "b"], ["from", "format", "size"]));
    }

    [Fact]
    public void Every_route_line_accepts_its_path_parameters()
    {
        var stop = RouteContracts.Find("POST", "/_ml/trained_models/{deployment_id}/deployment/_stop")!;
        Assert.Contains("deployment_id", (IReadOnlySet<string>)stop.Parameters);
        Assert.Equal(BodyUse.Optional, stop.Body);
        Assert.Same(RouteContracts.Find("GET", "/"), RouteContracts.Find("HEAD", "/"));
        Assert.NotNull(RouteContracts.Find("GET", "/_ingest/pipeline/"));
        Assert.Null(RouteContracts.Find("GET", "/_no/such/route"));
    }

    [Theory]
    [InlineData(null, null, true, null)]
    [InlineData("application/vnd.elasticsearch+json; compatible-with=7", null, false, null)]
    [InlineData("application/vnd.elasticsearch+json; compatible-with=8", "application/vnd.elasticsearch+json; compatible-with=8", true, null)]
    [InlineData("application/vnd.elasticsearch+json; compatible-with=6", null, false, "Accept version must be either version 8 or 7, but found 6.")]
    [InlineData(null, "application/vnd.elasticsearch+json; compatible-with=8", false, null)] // no body: Content-Type is not compared
    [InlineData(null, "application/vnd.elasticsearch+json; compatible-with=7", true, "the compatible versions must match")]
    [InlineData("application/json", "application/vnd.elasticsearch+json; compatible-with=8", true, "if either one has requested a compatible version.")]
    public void Compatible_versions_follow_elasticsearch_8(string? accept, string? contentType, bool hasBody, string? error)
    {
        var refused = MediaTypeHeaders.Check(accept, contentType, hasBody);
        if (error is null) Assert.Null(refused);
        else Assert.Contains(error, ((Grains.Models.ElasticsearchExceptionWithCause)refused!).CausedBy.Reason);
    }

    [Theory]
    [InlineData("application/json", null)]
    [InlineData("application/json; charset=UTF-8", null)]
    [InlineData("application/vnd.elasticsearch+json; compatible-with=8", null)]
    [InlineData("text/plain", "Content-Type header [text/plain] is not supported")]
    [InlineData(null, "Content-Type header is missing")]
    public void Only_json_bodies_are_read(string? contentType, string? error) =>
        Assert.Equal(error, MediaTypeHeaders.UnsupportedBodyType(contentType));
}
