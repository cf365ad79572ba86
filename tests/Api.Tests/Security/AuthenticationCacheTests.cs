using System.Text;
using Microsoft.Extensions.DependencyInjection;
using TrainedModelsOrleans.Api.Security;
using Xunit;

namespace TrainedModelsOrleans.Api.Tests.Security;

/// <summary>The Authenticator's cache: what a flood of bad credentials cannot evict.</summary>
[Collection(SecuredServiceCollection.Name)]
public sealed class AuthenticationCacheTests(ServiceFixture service)
{
    [Fact]
    public async Task A_flood_of_unknown_api_key_ids_leaves_a_verified_credential_in_the_cache()
    {
        var authenticator = service.Node.Services.GetRequiredService<Authenticator>();
        var user = MlApi.NewId("cached");
        var credential = await service.CreateUserAsync(user, "cached-password", "monitor");
        await service.SettledAsync();
        (await service.SendAsAsync(credential, HttpMethod.Get, "/_security/_authenticate")).AssertOk();

        // More made-up key ids than the cache holds: each is refused without a hash and without a cache entry.
        for (var i = 0; i < 10_050; i++)
        {
            var header = "ApiKey " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"made-up-{i}:secret"));
            Assert.IsType<AuthenticationOutcome.WrongCredentials>(await authenticator.AuthenticateAsync(header, CancellationToken.None));
        }

        var hashed = authenticator.Verifications;
        (await service.SendAsAsync(credential, HttpMethod.Get, "/_security/_authenticate")).AssertOk();
        Assert.Equal(hashed, authenticator.Verifications);
    }

    [Fact]
    public async Task Creating_an_api_key_leaves_every_verified_credential_in_the_cache()
    {
        var authenticator = service.Node.Services.GetRequiredService<Authenticator>();
        var credential = await service.CreateUserAsync(MlApi.NewId("keeps-cache"), "cached-password", "monitor");
        await service.SettledAsync();
        (await service.SendAsAsync(credential, HttpMethod.Get, "/_security/_authenticate")).AssertOk();
        var version = authenticator.RealmVersion;

        // A new key cannot make anything verified stale: the realm's version stays, so no node clears its cache.
        (await service.PostAsync("/_security/api_key", new System.Text.Json.Nodes.JsonObject { ["name"] = MlApi.NewId("automation") })).AssertOk();
        await service.SettledAsync();
        Assert.Equal(version, authenticator.RealmVersion);
        var hashed = authenticator.Verifications;
        (await service.SendAsAsync(credential, HttpMethod.Get, "/_security/_authenticate")).AssertOk();
        Assert.Equal(hashed, authenticator.Verifications);
    }
}
