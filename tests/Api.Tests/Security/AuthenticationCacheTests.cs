using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Orleans;
using TrainedModelsOrleans.Api.Security;
using TrainedModelsOrleans.Grains.Security;
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
        await SettledAsync(authenticator);
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

    /// <summary>Waits until the node's poll has seen the realm's latest change (which clears its cache).</summary>
    private async Task SettledAsync(Authenticator authenticator)
    {
        var realm = service.Node.Services.GetRequiredService<IGrainFactory>().GetGrain<ISecurityRealmGrain>(ISecurityRealmGrain.Key);
        var version = await realm.GetVersion();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (authenticator.RealmVersion != version) await Task.Delay(50, timeout.Token);
    }
}
