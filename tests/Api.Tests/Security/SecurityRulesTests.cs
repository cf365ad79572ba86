using TrainedModelsOrleans.Api.Http;
using TrainedModelsOrleans.Api.Security;
using Xunit;

namespace TrainedModelsOrleans.Api.Tests.Security;

/// <summary>The HTTP layer's security rules as plain functions (no server): header parsing and the route→action table.</summary>
public sealed class SecurityRulesTests
{
    private static string B64(string text) => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(text));

    [Fact]
    public void Basic_and_api_key_headers_are_read_as_es_reads_them()
    {
        Assert.Equal(new Credential.UserPassword("elastic", "pa:ss"), AuthorizationHeader.Parse("Basic " + B64("elastic:pa:ss")));
        Assert.Equal(new Credential.UserPassword("elastic", "x"), AuthorizationHeader.Parse("basic " + B64("elastic:x")));
        Assert.Equal(new Credential.ApiKey("id1", "secret"), AuthorizationHeader.Parse("ApiKey " + B64("id1:secret")));
        Assert.IsType<Credential.None>(AuthorizationHeader.Parse(null));
        Assert.IsType<Credential.None>(AuthorizationHeader.Parse(""));
        Assert.IsType<Credential.None>(AuthorizationHeader.Parse("Bearer abc"));
        Assert.IsType<Credential.Malformed>(AuthorizationHeader.Parse("Basic %%%"));
        Assert.IsType<Credential.Malformed>(AuthorizationHeader.Parse("Basic " + B64("no-colon")));
        Assert.IsType<Credential.Malformed>(AuthorizationHeader.Parse("ApiKey " + B64("id-only:")));
        Assert.IsType<Credential.Malformed>(AuthorizationHeader.Parse("ApiKey " + Convert.ToBase64String([0xff, 0xfe, 0x3a, 0x41])));
    }

    [Fact]
    public void Every_route_of_the_api_has_an_es_action_and_no_action_lacks_a_route()
    {
        var routes = RouteContracts.Routes.ToHashSet();
        var missing = routes.Where(r => RouteActions.For(r) is null).ToArray();
        Assert.True(missing.Length == 0, "routes without an action: " + string.Join(", ", missing));
        var stray = RouteActions.Routes.Where(r => !routes.Contains(r)).ToArray();
        Assert.True(stray.Length == 0, "actions without a route: " + string.Join(", ", stray));
        Assert.All(RouteActions.Routes, r => Assert.StartsWith("cluster:", RouteActions.For(r), StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("POST /_ml/trained_models/{model_id}/deployment/_start", "cluster:admin/xpack/ml/trained_models/deployment/start")]
    [InlineData("GET /_ml/trained_models/{model_id}/_stats", "cluster:monitor/xpack/ml/inference/stats/get")]
    [InlineData("POST /_ml/trained_models/{model_id}/deployment/_infer", "cluster:monitor/xpack/ml/trained_models/deployment/infer")]
    [InlineData("GET /", "cluster:monitor/main")]
    public void Routes_carry_es_action_names(string route, string action) => Assert.Equal(action, RouteActions.For(route));

    [Fact]
    public void Own_api_keys_are_those_the_request_names_as_the_callers_own()
    {
        var user = new Grains.Security.StoredUser { Username = "bob", Roles = ["superuser"] };
        var bob = AuthenticatedSubject.ForUser(user);
        Assert.True(OwnApiKeys.Covers(bob, new ApiKeyScope(null, null, null, Owner: true)));
        Assert.True(OwnApiKeys.Covers(bob, new ApiKeyScope(null, "bob", Realm.Native.Name, Owner: false)));
        Assert.False(OwnApiKeys.Covers(bob, new ApiKeyScope(null, "bob", null, Owner: false)));
        Assert.False(OwnApiKeys.Covers(bob, new ApiKeyScope(["k1"], null, null, Owner: false)));

        var key = new Grains.Security.StoredApiKey { Id = "k1", Name = "n", KeyHash = "h", Username = "bob", Realm = Realm.Native.Name, Creation = DateTimeOffset.UnixEpoch };
        var bobsKey = AuthenticatedSubject.ForApiKey(key, user);
        Assert.True(OwnApiKeys.Covers(bobsKey, new ApiKeyScope(["k1"], null, null, Owner: false)));
        Assert.False(OwnApiKeys.Covers(bobsKey, new ApiKeyScope(["k1", "k2"], null, null, Owner: false)));
        Assert.False(OwnApiKeys.Covers(bobsKey, new ApiKeyScope(["k1"], null, null, Owner: false, WithLimitedBy: true)));
        // A key owns no other key, not even its owner's.
        Assert.False(OwnApiKeys.Covers(bobsKey, new ApiKeyScope(null, null, null, Owner: true)));
    }

    [Fact]
    public void An_invalidate_body_is_read_with_es_types_and_checks()
    {
        var request = ApiKeyRequests.ParseInvalidate(new System.Text.Json.Nodes.JsonObject { ["ids"] = new System.Text.Json.Nodes.JsonArray("a", "b"), ["id"] = "c" });
        Assert.Equal(["a", "b", "c"], request.Ids!);
        var error = Assert.Throws<Grains.Errors.ElasticsearchException>(() =>
            ApiKeyRequests.ParseInvalidate(new System.Text.Json.Nodes.JsonObject { ["name"] = "n", ["username"] = "u" }));
        Assert.Equal("Validation Failed: 1: username or realm name must not be specified when the api key id(s) or api key name are specified;", error.Reason);
    }

    [Fact]
    public void A_key_made_by_a_key_must_carry_an_empty_role_descriptor()
    {
        var user = new Grains.Security.StoredUser { Username = "bob", Roles = ["superuser"] };
        var key = new Grains.Security.StoredApiKey { Id = "k1", Name = "n", KeyHash = "h", Username = "bob", Realm = Realm.Native.Name, Creation = DateTimeOffset.UnixEpoch };
        var empty = new CreateApiKeyRequest("d", null, [new Grains.Security.ApiKeyRole("none", [])], "{}");
        var wider = new CreateApiKeyRequest("d", null, [new Grains.Security.ApiKeyRole("r", ["monitor"])], "{}");
        var inherited = new CreateApiKeyRequest("d", null, [], "{}");
        empty.CheckMadeBy(AuthenticatedSubject.ForApiKey(key, user));
        Assert.Throws<Grains.Errors.ElasticsearchException>(() => wider.CheckMadeBy(AuthenticatedSubject.ForApiKey(key, user)));
        Assert.Throws<Grains.Errors.ElasticsearchException>(() => inherited.CheckMadeBy(AuthenticatedSubject.ForApiKey(key, user)));
        // A user may make either.
        wider.CheckMadeBy(AuthenticatedSubject.ForUser(user));
        inherited.CheckMadeBy(AuthenticatedSubject.ForUser(user));
    }
}
