using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Orleans;
using TrainedModelsOrleans.Api.Security;
using TrainedModelsOrleans.Grains.Security;
using TrainedModelsOrleans.TestSupport;

namespace TrainedModelsOrleans.Api.Tests.Security;

/// <summary>
/// The security tests' one node: they share it (and run one class at a time), so they add one in-process node to the
/// suite rather than three.
/// </summary>
[Xunit.CollectionDefinition(Name)]
public sealed class SecuredServiceCollection : Xunit.ICollectionFixture<ServiceFixture>
{
    public const string Name = "secured service";
}

/// <summary>Requests to a fixture's node as someone else than elastic (or as nobody).</summary>
public static class SecuredService
{
    public static async Task<Response> SendAsAsync(this ServiceFixture service, AuthenticationHeaderValue? authorization, HttpMethod method,
        string path, object? body = null)
    {
        using var http = new HttpClient { BaseAddress = service.Node.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = authorization;
        return await http.SendJsonAsync(method, path, body);
    }

    /// <summary>Creates (or replaces) a native user with these roles, as elastic.</summary>
    public static async Task<AuthenticationHeaderValue> CreateUserAsync(this ServiceFixture service, string username, string password,
        params string[] roles)
    {
        (await service.PutAsync($"/_security/user/{username}",
            new JsonObject { ["password"] = password, ["roles"] = new JsonArray([.. roles.Select(r => (JsonNode?)r)]) })).AssertOk();
        return TestSecurity.Basic(username, password);
    }

    /// <summary>
    /// Waits until the node's poll has seen the realm's latest change (which clears its cache), so a credential verified
    /// after this stays cached while nothing changes.
    /// </summary>
    public static async Task SettledAsync(this ServiceFixture service)
    {
        var authenticator = service.Node.Services.GetRequiredService<Authenticator>();
        var realm = service.Node.Services.GetRequiredService<IGrainFactory>().GetGrain<ISecurityRealmGrain>(ISecurityRealmGrain.Key);
        var version = await realm.GetVersion();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (authenticator.RealmVersion != version) await Task.Delay(50, timeout.Token);
    }

    /// <summary>ES's 401 body and both challenge headers.</summary>
    public static Response AssertUnauthorized(this Response response, string reason)
    {
        response.AssertError(401, "security_exception", reason);
        Xunit.Assert.Equal(reason, response.Body["error"]!["reason"]!.GetValue<string>());
        var challenges = response.Headers["WWW-Authenticate"];
        Xunit.Assert.Contains("Basic realm=\"security\" charset=\"UTF-8\"", challenges, StringComparison.Ordinal);
        Xunit.Assert.Contains("ApiKey", challenges, StringComparison.Ordinal);
        return response;
    }
}
