using System.Text;
using System.Text.Json.Nodes;
using TrainedModelsOrleans.TestSupport;
using Xunit;

namespace TrainedModelsOrleans.Api.Tests.Security;

/// <summary>API keys: create, use, list, invalidate, expire; role descriptors bound a key, and so does its owner.</summary>
[Collection(SecuredServiceCollection.Name)]
public sealed class ApiKeyTests(ServiceFixture service)
{
    private const string AnonymousNotAllowed =
        "unable to authenticate with provided credentials and anonymous access is not allowed for this request";

    private async Task<JsonNode> CreateKeyAsync(JsonObject body, System.Net.Http.Headers.AuthenticationHeaderValue? owner = null) =>
        (await service.SendAsAsync(owner ?? TestSecurity.Elastic, HttpMethod.Post, "/_security/api_key", body)).AssertOk().Body;

    [Fact]
    public async Task A_key_authenticates_is_listed_and_stops_working_once_invalidated()
    {
        var name = MlApi.NewId("service-key");
        var key = await CreateKeyAsync(new JsonObject { ["name"] = name });
        var id = key["id"]!.GetValue<string>();
        Assert.Equal(name, key["name"]!.GetValue<string>());
        Assert.Null(key["expiration"]);
        Assert.Equal($"{id}:{key["api_key"]!.GetValue<string>()}", Encoding.UTF8.GetString(Convert.FromBase64String(key["encoded"]!.GetValue<string>())));
        var auth = TestSecurity.ApiKey(key["encoded"]!.GetValue<string>());

        var me = (await service.SendAsAsync(auth, HttpMethod.Get, "/_security/_authenticate")).AssertOk().Body;
        Assert.Equal("elastic", me["username"]!.GetValue<string>());
        Assert.Equal("api_key", me["authentication_type"]!.GetValue<string>());
        Assert.Equal(id, me["api_key"]!["id"]!.GetValue<string>());
        (await service.SendAsAsync(auth, HttpMethod.Get, "/_ml/trained_models")).AssertOk();

        var listed = (await service.GetAsync($"/_security/api_key?name={name}")).AssertOk().Body["api_keys"]!.AsArray();
        var entry = Assert.Single(listed)!;
        Assert.Equal(id, entry["id"]!.GetValue<string>());
        Assert.Equal("elastic", entry["username"]!.GetValue<string>());
        Assert.False(entry["invalidated"]!.GetValue<bool>());
        Assert.Null(entry["api_key"]);
        Assert.Single((await service.GetAsync($"/_security/api_key?id={id}&owner=true")).AssertOk().Body["api_keys"]!.AsArray());

        var invalidated = (await service.SendAsync(HttpMethod.Delete, "/_security/api_key", new JsonObject { ["ids"] = new JsonArray(id) })).AssertOk().Body;
        Assert.Equal(id, Assert.Single(invalidated["invalidated_api_keys"]!.AsArray())!.GetValue<string>());
        Assert.Empty(invalidated["previously_invalidated_api_keys"]!.AsArray());
        Assert.Equal(0, invalidated["error_count"]!.GetValue<int>());
        (await service.SendAsAsync(auth, HttpMethod.Get, "/_ml/trained_models")).AssertUnauthorized(AnonymousNotAllowed);

        var again = (await service.SendAsync(HttpMethod.Delete, "/_security/api_key", new JsonObject { ["name"] = name })).AssertOk().Body;
        Assert.Empty(again["invalidated_api_keys"]!.AsArray());
        Assert.Equal(id, Assert.Single(again["previously_invalidated_api_keys"]!.AsArray())!.GetValue<string>());
        Assert.Empty((await service.GetAsync($"/_security/api_key?name={name}&active_only=true")).AssertOk().Body["api_keys"]!.AsArray());
    }

    [Fact]
    public async Task An_expired_key_is_refused()
    {
        var key = await CreateKeyAsync(new JsonObject { ["name"] = MlApi.NewId("short-lived"), ["expiration"] = "2s" });
        Assert.NotNull(key["expiration"]);
        var auth = TestSecurity.ApiKey(key["encoded"]!.GetValue<string>());
        // Used while valid (so its verification is cached), then past its expiration: the cache does not outlive it.
        var first = await service.SendAsAsync(auth, HttpMethod.Get, "/_ml/info");
        Response? refused = null;
        for (var attempt = 0; attempt < 100 && refused is null; attempt++)
        {
            await Task.Delay(100);
            var answer = await service.SendAsAsync(auth, HttpMethod.Get, "/_ml/info");
            if (answer.Status == System.Net.HttpStatusCode.Unauthorized) refused = answer;
        }
        first.AssertOk();
        Assert.NotNull(refused);
        refused.AssertUnauthorized(AnonymousNotAllowed);
    }

    [Fact]
    public async Task Role_descriptors_limit_a_key_below_its_owner()
    {
        var key = await CreateKeyAsync(new JsonObject
        {
            ["name"] = MlApi.NewId("inference-only"),
            ["role_descriptors"] = new JsonObject { ["infer"] = new JsonObject { ["cluster"] = new JsonArray("monitor_ml") } },
        });
        var id = key["id"]!.GetValue<string>();
        var auth = TestSecurity.ApiKey(key["encoded"]!.GetValue<string>());
        (await service.SendAsAsync(auth, HttpMethod.Get, "/_ml/trained_models/_stats")).AssertOk();
        (await service.SendAsAsync(auth, HttpMethod.Post, "/_ml/trained_models/no-such-model/deployment/_start"))
            .AssertError(403, "security_exception",
                $"action [cluster:admin/xpack/ml/trained_models/deployment/start] is unauthorized for API key id [{id}] of user [elastic], "
                + "this action is granted by the cluster privileges [manage_ml,manage,all]");
        // A key cannot make a key with more than nothing.
        (await service.SendAsAsync(auth, HttpMethod.Post, "/_security/api_key", new JsonObject { ["name"] = "derived" }))
            .AssertError(403, "security_exception", "action [cluster:admin/xpack/security/api_key/create] is unauthorized");
        var listed = (await service.GetAsync($"/_security/api_key?id={id}&with_limited_by=true")).AssertOk().Body["api_keys"]![0]!;
        Assert.Equal("monitor_ml", listed["role_descriptors"]!["infer"]!["cluster"]![0]!.GetValue<string>());
        Assert.Equal("all", listed["limited_by"]![0]!["superuser"]!["cluster"]![0]!.GetValue<string>());
    }

    [Fact]
    public async Task A_key_never_exceeds_its_owner_even_when_its_descriptors_say_all()
    {
        var owner = MlApi.NewId("key-owner");
        var ownerAuth = await service.CreateUserAsync(owner, "owner-password", "superuser");
        var key = await CreateKeyAsync(new JsonObject
        {
            ["name"] = "everything",
            ["role_descriptors"] = new JsonObject { ["all"] = new JsonObject { ["cluster"] = new JsonArray("all") } },
        }, ownerAuth);
        var auth = TestSecurity.ApiKey(key["encoded"]!.GetValue<string>());
        (await service.SendAsAsync(auth, HttpMethod.Get, "/_security/user")).AssertOk();

        // The owner is reduced to machine_learning_user: the key follows at once on this node.
        (await service.PutAsync($"/_security/user/{owner}", new JsonObject { ["roles"] = new JsonArray("machine_learning_user") })).AssertOk();
        (await service.SendAsAsync(auth, HttpMethod.Get, "/_ml/trained_models")).AssertOk();
        (await service.SendAsAsync(auth, HttpMethod.Get, "/_security/user")).AssertError(403, "security_exception",
            $"action [cluster:admin/xpack/security/user/get] is unauthorized for API key id [{key["id"]!.GetValue<string>()}] of user [{owner}]");
        (await service.SendAsAsync(auth, HttpMethod.Post, "/_ml/trained_models/no-such-model/deployment/_start"))
            .AssertError(403, "security_exception", "is unauthorized");
    }

    [Fact]
    public async Task A_deleted_users_keys_stay_dead_when_a_user_of_the_same_name_is_created()
    {
        var owner = MlApi.NewId("reborn");
        var key = await CreateKeyAsync(new JsonObject { ["name"] = MlApi.NewId("orphan") }, await service.CreateUserAsync(owner, "first-life", "superuser"));
        var auth = TestSecurity.ApiKey(key["encoded"]!.GetValue<string>());
        (await service.SendAsAsync(auth, HttpMethod.Get, "/_security/_authenticate")).AssertOk();

        (await service.DeleteAsync($"/_security/user/{owner}")).AssertOk();
        await service.CreateUserAsync(owner, "second-life", "superuser");
        (await service.SendAsAsync(auth, HttpMethod.Get, "/_security/_authenticate")).AssertUnauthorized(AnonymousNotAllowed);
        var listed = (await service.GetAsync($"/_security/api_key?id={key["id"]!.GetValue<string>()}")).AssertOk().Body["api_keys"]![0]!;
        Assert.True(listed["invalidated"]!.GetValue<bool>());
    }

    [Fact]
    public async Task A_key_with_only_manage_own_api_key_sees_and_invalidates_only_itself()
    {
        var other = (await CreateKeyAsync(new JsonObject { ["name"] = MlApi.NewId("someone-elses") }))["id"]!.GetValue<string>();
        var own = await CreateKeyAsync(new JsonObject
        {
            ["name"] = MlApi.NewId("own-only"),
            ["role_descriptors"] = new JsonObject { ["own"] = new JsonObject { ["cluster"] = new JsonArray("manage_own_api_key") } },
        });
        var id = own["id"]!.GetValue<string>();
        var auth = TestSecurity.ApiKey(own["encoded"]!.GetValue<string>());
        const string getDenied = "action [cluster:admin/xpack/security/api_key/get] is unauthorized for API key id [";
        const string invalidateDenied = "action [cluster:admin/xpack/security/api_key/invalidate] is unauthorized for API key id [";

        (await service.SendAsAsync(auth, HttpMethod.Get, "/_security/api_key")).AssertError(403, "security_exception", getDenied);
        (await service.SendAsAsync(auth, HttpMethod.Get, "/_security/api_key?owner=true")).AssertError(403, "security_exception", getDenied);
        (await service.SendAsAsync(auth, HttpMethod.Get, $"/_security/api_key?id={other}")).AssertError(403, "security_exception", getDenied);
        var mine = (await service.SendAsAsync(auth, HttpMethod.Get, $"/_security/api_key?id={id}")).AssertOk().Body["api_keys"]!.AsArray();
        Assert.Equal(id, Assert.Single(mine)!["id"]!.GetValue<string>());
        (await service.SendAsAsync(auth, HttpMethod.Get, $"/_security/api_key?id={id}&with_limited_by=true")).AssertError(403, "security_exception", getDenied);

        (await service.SendAsAsync(auth, HttpMethod.Delete, "/_security/api_key", new JsonObject { ["ids"] = new JsonArray(other) }))
            .AssertError(403, "security_exception", invalidateDenied);
        (await service.SendAsAsync(auth, HttpMethod.Delete, "/_security/api_key", new JsonObject { ["owner"] = true }))
            .AssertError(403, "security_exception", invalidateDenied);
        (await service.SendAsAsync(auth, HttpMethod.Delete, "/_security/api_key", new JsonObject { ["username"] = "elastic", ["realm_name"] = "reserved" }))
            .AssertError(403, "security_exception", invalidateDenied);
        Assert.False((await service.GetAsync($"/_security/api_key?id={other}")).AssertOk().Body["api_keys"]![0]!["invalidated"]!.GetValue<bool>());
        // A derived key (no privileges of its own) may still be made, then the key retires itself.
        (await service.SendAsAsync(auth, HttpMethod.Post, "/_security/api_key", new JsonObject
        {
            ["name"] = "derived",
            ["role_descriptors"] = new JsonObject { ["none"] = new JsonObject { ["cluster"] = new JsonArray() } },
        })).AssertOk();
        Assert.Equal(id, Assert.Single((await service.SendAsAsync(auth, HttpMethod.Delete, "/_security/api_key",
            new JsonObject { ["ids"] = new JsonArray(id) })).AssertOk().Body["invalidated_api_keys"]!.AsArray())!.GetValue<string>());
    }

    [Theory]
    [InlineData("{\"name\":\"k\",\"role_descriptors\":{\"r\":{\"cluster\":\"monitor\"}}}", "parse_exception",
        "failed to parse role [r]. could not parse [cluster] field. expected a string array but found [VALUE_STRING] value instead")]
    [InlineData("{\"name\":\"k\",\"role_descriptors\":{\"r\":null}}", "parse_exception", "failed to parse role [r]. expected an object but found [VALUE_NULL] instead")]
    [InlineData("{\"name\":\"k\",\"role_descriptors\":[]}", "x_content_parse_exception", "[api_key_request] role_descriptors doesn't support values of type: START_ARRAY")]
    [InlineData("{\"name\":\"k\",\"metadata\":[1,2]}", "x_content_parse_exception", "[api_key_request] metadata doesn't support values of type: START_ARRAY")]
    [InlineData("{\"name\":7}", "x_content_parse_exception", "[api_key_request] name doesn't support values of type: VALUE_NUMBER")]
    [InlineData("{\"name\":\"k\",\"expiration\":\"100000000d\"}", "illegal_argument_exception", "[expiration] of [100000000d] is too long")]
    public async Task A_create_key_body_of_the_wrong_types_is_refused(string body, string type, string reason) =>
        (await service.SendAsync(HttpMethod.Post, "/_security/api_key", JsonNode.Parse(body))).AssertError(400, type, reason);

    [Theory]
    [InlineData("{\"ids\":[1,{\"a\":1}]}", "x_content_parse_exception", "[invalidate_api_key] ids doesn't support values of type: VALUE_NUMBER")]
    [InlineData("{\"name\":{\"a\":1}}", "x_content_parse_exception", "[invalidate_api_key] name doesn't support values of type: START_OBJECT")]
    [InlineData("{\"owner\":\"true\"}", "x_content_parse_exception", "[invalidate_api_key] owner doesn't support values of type: VALUE_STRING")]
    [InlineData("{\"ids\":[\"a\"],\"name\":\"b\"}", "action_request_validation_exception", "Validation Failed: 1: only one of [api key id(s), api key name] can be specified;")]
    [InlineData("{\"owner\":true,\"username\":\"x\"}", "action_request_validation_exception", "neither username nor realm-name may be specified when invalidating owned API keys")]
    [InlineData("{\"ids\":[]}", "action_request_validation_exception", "Validation Failed: 1: Field [ids] cannot be an empty array;")]
    [InlineData("{\"ids\":[\"a\",\" \",\"\"]}", "action_request_validation_exception", "Field [ids] must not contain blank id, but got blank ids at index positions: [1, 2]")]
    public async Task A_bad_invalidate_body_is_refused_as_es_does(string body, string type, string reason) =>
        (await service.SendAsync(HttpMethod.Delete, "/_security/api_key", JsonNode.Parse(body))).AssertError(400, type, reason);

    [Fact]
    public async Task A_get_that_mixes_owner_or_id_with_a_username_is_refused_as_es_does()
    {
        (await service.GetAsync("/_security/api_key?owner=true&username=x")).AssertError(400, "action_request_validation_exception",
            "Validation Failed: 1: neither username nor realm-name may be specified when retrieving owned API keys;");
        (await service.GetAsync("/_security/api_key?id=a&name=b")).AssertError(400, "action_request_validation_exception",
            "only one of [api key id, api key name] can be specified");
    }

    [Fact]
    public async Task Bad_key_requests_are_refused_in_es_words()
    {
        (await service.PostAsync("/_security/api_key", new JsonObject())).AssertError(400, "action_request_validation_exception", "api key name is required");
        (await service.PostAsync("/_security/api_key", new JsonObject
        {
            ["name"] = "bad",
            ["role_descriptors"] = new JsonObject { ["r"] = new JsonObject { ["cluster"] = new JsonArray("superpowers") } },
        })).AssertError(400, "illegal_argument_exception", "unknown cluster privilege [superpowers]");
        (await service.SendAsync(HttpMethod.Delete, "/_security/api_key", new JsonObject()))
            .AssertError(400, "action_request_validation_exception", "must be specified if [owner] flag is false");
    }
}
