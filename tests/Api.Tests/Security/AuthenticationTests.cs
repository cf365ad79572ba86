using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using TrainedModelsOrleans.Api.Security;
using TrainedModelsOrleans.TestSupport;
using Xunit;

namespace TrainedModelsOrleans.Api.Tests.Security;

/// <summary>Basic and ApiKey authentication over HTTP: ES's 401s, _authenticate, the stored hash, users and their passwords.</summary>
[Collection(SecuredServiceCollection.Name)]
public sealed class AuthenticationTests(ServiceFixture service)
{
    private const string AnonymousNotAllowed =
        "unable to authenticate with provided credentials and anonymous access is not allowed for this request";

    [Fact]
    public async Task A_request_without_credentials_is_401_with_both_challenges()
    {
        (await service.SendAsAsync(null, HttpMethod.Get, "/_ml/trained_models?size=1"))
            .AssertUnauthorized("missing authentication credentials for REST request [/_ml/trained_models?size=1]");
        // GET / needs credentials too, as in ES 8.
        (await service.SendAsAsync(null, HttpMethod.Get, "/")).AssertUnauthorized("missing authentication credentials for REST request [/]");
        // A path no endpoint serves is refused before anything says so.
        (await service.SendAsAsync(null, HttpMethod.Get, "/_no/such/thing")).AssertUnauthorized("missing authentication credentials for REST request [/_no/such/thing]");
    }

    [Fact]
    public async Task A_wrong_password_or_unknown_user_is_401_naming_the_user()
    {
        (await service.SendAsAsync(TestSecurity.Basic("elastic", "not-the-password"), HttpMethod.Get, "/_ml/info"))
            .AssertUnauthorized("unable to authenticate user [elastic] for REST request [/_ml/info]");
        (await service.SendAsAsync(TestSecurity.Basic("nobody-here", "whatever1"), HttpMethod.Get, "/"))
            .AssertUnauthorized("unable to authenticate user [nobody-here] for REST request [/]");
    }

    [Fact]
    public async Task A_bad_or_malformed_api_key_is_401()
    {
        var unknown = Convert.ToBase64String(Encoding.UTF8.GetBytes("no-such-id:no-such-key"));
        (await service.SendAsAsync(TestSecurity.ApiKey(unknown), HttpMethod.Get, "/")).AssertUnauthorized(AnonymousNotAllowed);
        (await service.SendAsAsync(TestSecurity.ApiKey("%%%not-base64"), HttpMethod.Get, "/")).AssertUnauthorized(AnonymousNotAllowed);
        (await service.SendAsAsync(new("Basic", "%%%"), HttpMethod.Get, "/")).AssertUnauthorized(AnonymousNotAllowed);
    }

    [Fact]
    public async Task Authenticate_describes_elastic_from_the_reserved_realm()
    {
        var me = (await service.GetAsync("/_security/_authenticate")).AssertOk().Body;
        Assert.Equal("elastic", me["username"]!.GetValue<string>());
        Assert.Equal("superuser", me["roles"]![0]!.GetValue<string>());
        Assert.Equal("reserved", me["authentication_realm"]!["name"]!.GetValue<string>());
        Assert.Equal("realm", me["authentication_type"]!.GetValue<string>());
        Assert.True(me["enabled"]!.GetValue<bool>());
    }

    [Fact]
    public async Task The_configured_elastic_password_is_stored_only_as_a_pbkdf2_hash()
    {
        var row = await service.Database.ScalarAsync<string>(
            "SELECT convert_from(payloadbinary, 'UTF8') FROM orleansstorage WHERE grainidextensionstring LIKE '%/security'");
        Assert.NotNull(row);
        Assert.DoesNotContain(TestSecurity.ElasticPassword, row, StringComparison.Ordinal);
        var elastic = JsonNode.Parse(row)!["Users"]!["elastic"]!;
        Assert.StartsWith("$pbkdf2-sha256$i=10000$", elastic["PasswordHash"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task User_crud_and_a_password_change_that_retires_the_old_password()
    {
        var user = MlApi.NewId("carol");
        var put = (await service.PutAsync($"/_security/user/{user}", new JsonObject
        {
            ["password"] = "first-password",
            ["roles"] = new JsonArray("monitor"),
            ["full_name"] = "Carol C",
            ["email"] = "carol@example.com",
            ["metadata"] = new JsonObject { ["team"] = "ml" },
        })).AssertOk().Body;
        Assert.True(put["created"]!.GetValue<bool>());
        var got = (await service.GetAsync($"/_security/user/{user}")).AssertOk().Body[user]!;
        Assert.Equal("Carol C", got["full_name"]!.GetValue<string>());
        Assert.Equal("ml", got["metadata"]!["team"]!.GetValue<string>());
        Assert.Null(got["password"]);

        var old = TestSecurity.Basic(user, "first-password");
        (await service.SendAsAsync(old, HttpMethod.Get, "/_security/_authenticate")).AssertOk();
        // A user changes their own password without any security privilege.
        (await service.SendAsAsync(old, HttpMethod.Post, $"/_security/user/{user}/_password", new JsonObject { ["password"] = "second-password" })).AssertOk();
        (await service.SendAsAsync(old, HttpMethod.Get, "/_security/_authenticate"))
            .AssertUnauthorized($"unable to authenticate user [{user}] for REST request [/_security/_authenticate]");
        (await service.SendAsAsync(TestSecurity.Basic(user, "second-password"), HttpMethod.Get, "/_security/_authenticate")).AssertOk();
        // ES's own-password route names no user: it changes the caller's, and creates no user called _password.
        (await service.SendAsAsync(TestSecurity.Basic(user, "second-password"), HttpMethod.Put, "/_security/user/_password",
            new JsonObject { ["password"] = "third-password" })).AssertOk();
        (await service.SendAsAsync(TestSecurity.Basic(user, "third-password"), HttpMethod.Get, "/_security/_authenticate")).AssertOk();
        Assert.Equal(HttpStatusCode.NotFound, (await service.GetAsync("/_security/user/_password")).Status);

        // Updating without a password keeps it; disabling refuses it.
        Assert.False((await service.PutAsync($"/_security/user/{user}", new JsonObject { ["roles"] = new JsonArray("monitor"), ["enabled"] = false }))
            .AssertOk().Body["created"]!.GetValue<bool>());
        (await service.SendAsAsync(TestSecurity.Basic(user, "third-password"), HttpMethod.Get, "/")).AssertUnauthorized(
            $"unable to authenticate user [{user}] for REST request [/]");

        Assert.True((await service.DeleteAsync($"/_security/user/{user}")).AssertOk().Body["found"]!.GetValue<bool>());
        Assert.Equal(HttpStatusCode.NotFound, (await service.GetAsync($"/_security/user/{user}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await service.DeleteAsync($"/_security/user/{user}")).Status);
    }

    [Fact]
    public async Task Bad_user_requests_get_es_validation_errors()
    {
        (await service.PutAsync("/_security/user/short-pw", new JsonObject { ["password"] = "abc", ["roles"] = new JsonArray() }))
            .AssertError(400, "action_request_validation_exception", "passwords must be at least [6] characters long");
        (await service.PutAsync("/_security/user/no-roles", new JsonObject { ["password"] = "abcdefgh" }))
            .AssertError(400, "action_request_validation_exception", "roles are missing");
        (await service.PutAsync("/_security/user/elastic", new JsonObject { ["password"] = "abcdefgh", ["roles"] = new JsonArray() }))
            .AssertError(400, "action_request_validation_exception", "user [elastic] is reserved and only the password can be changed");
        (await service.DeleteAsync("/_security/user/elastic"))
            .AssertError(400, "illegal_argument_exception", "user [elastic] is reserved and cannot be deleted");
        (await service.PostAsync("/_security/user/nobody-at-all/_password", new JsonObject { ["password"] = "abcdefgh" }))
            .AssertError(400, "validation_exception", "Validation Failed: 1: user must exist in order to change password;");
    }

    [Theory]
    [InlineData("{\"password\":\"abcdefgh\",\"roles\":[],\"enabled\":\"false\"}", "expected field [enabled] to be of type boolean, but found [VALUE_STRING] instead")]
    [InlineData("{\"password\":\"abcdefgh\",\"roles\":[],\"metadata\":[1,2]}", "expected field [metadata] to be of type object, but found [START_ARRAY] instead")]
    [InlineData("{\"password\":12345678,\"roles\":[]}", "expected field [password] to be of type string, but found [VALUE_NUMBER] instead")]
    [InlineData("{\"password\":\"abcdefgh\",\"roles\":{}}", "could not parse [roles] field. expected a string array but found [START_OBJECT] value instead")]
    [InlineData("{\"password\":\"abcdefgh\",\"roles\":[1]}", "could not parse [roles] field. expected a string array but one of the value in the array is [VALUE_NUMBER]")]
    [InlineData("{\"password\":\"abcdefgh\",\"roles\":[],\"full_name\":{}}", "expected field [full_name] to be of type string, but found [START_OBJECT] instead")]
    public async Task A_user_body_of_the_wrong_types_is_refused_as_es_does(string body, string reason)
    {
        (await service.SendAsync(HttpMethod.Put, $"/_security/user/{MlApi.NewId("typed")}", JsonNode.Parse(body)))
            .AssertError(400, "parse_exception", reason);
    }

    [Fact]
    public async Task A_flood_of_wrong_passwords_does_not_delay_a_new_api_key()
    {
        // A key never used yet, so its answer needs a PBKDF2 verification of its own.
        var key = TestSecurity.ApiKey((await service.PostAsync("/_security/api_key", new JsonObject { ["name"] = MlApi.NewId("fresh") }))
            .AssertOk().Body["encoded"]!.GetValue<string>());
        var authenticator = service.Node.Services.GetRequiredService<Authenticator>();
        var before = authenticator.Verifications;
        // 400 concurrent logins with distinct wrong passwords for 400 names (one name would be throttled after a few):
        // each costs one PBKDF2 in the bounded password turns.
        var flood = Enumerable.Range(0, 400).Select(i =>
            service.SendAsAsync(TestSecurity.Basic($"flooder-{i}", $"wrong-{i}"), HttpMethod.Get, "/")).ToArray();
        while (authenticator.Verifications < before + 20) await Task.Delay(5);

        var good = await service.SendAsAsync(key, HttpMethod.Get, "/_ml/info");
        // Had it queued behind the passwords, most of them would have been answered first.
        var waiting = flood.Count(f => !f.IsCompleted);
        good.AssertOk();
        Assert.True(waiting > 100, $"only {waiting} of the flood were still waiting when the key was answered");
        var answers = await Task.WhenAll(flood);
        Assert.All(answers, a => Assert.Equal(System.Net.HttpStatusCode.Unauthorized, a.Status));
        (await service.GetAsync("/")).AssertOk();
    }
}
