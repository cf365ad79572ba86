using System.Net;
using System.Text.Json.Nodes;
using Xunit;

namespace TrainedModelsOrleans.Api.Tests.Security;

/// <summary>A change to users or keys made through one node holds on the other within its poll of the realm's version.</summary>
public sealed class RealmChangesAcrossNodesTests(ServiceFixture service) : IClassFixture<ServiceFixture>
{
    [Fact]
    public async Task A_password_change_and_a_key_invalidation_through_one_node_hold_on_the_other_within_seconds()
    {
        var second = await service.AddNodeAsync(MlApi.NewId("second"), 2);
        using var nodeB = new HttpClient { BaseAddress = second.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };

        var user = MlApi.NewId("moving");
        var old = await service.CreateUserAsync(user, "old-password", "monitor");
        await EventuallyAsync(nodeB, old, HttpStatusCode.OK); // verified, so cached on node B
        (await service.PostAsync($"/_security/user/{user}/_password", new JsonObject { ["password"] = "new-password" })).AssertOk();
        await EventuallyAsync(nodeB, old, HttpStatusCode.Unauthorized);

        var key = TestSecurity.ApiKey((await service.PostAsync("/_security/api_key", new JsonObject { ["name"] = MlApi.NewId("moving-key") }))
            .AssertOk().Body["encoded"]!.GetValue<string>());
        await EventuallyAsync(nodeB, key, HttpStatusCode.OK);
        (await service.SendAsync(HttpMethod.Delete, "/_security/api_key", new JsonObject { ["name"] = "moving-key*" })).AssertOk();
        await EventuallyAsync(nodeB, key, HttpStatusCode.Unauthorized);
    }

    /// <summary>
    /// Asks node B until it answers the status, for at most 30 s: its poll runs every second, but each retry after its
    /// cache is cleared may wait for a PBKDF2 turn on a loaded machine.
    /// </summary>
    private static async Task EventuallyAsync(HttpClient node, System.Net.Http.Headers.AuthenticationHeaderValue credential, HttpStatusCode status)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/_security/_authenticate") { Headers = { Authorization = credential } };
            using var response = await node.SendAsync(request);
            if (response.StatusCode == status) return;
            Assert.True(DateTime.UtcNow < deadline, $"node B still answers {response.StatusCode} for {credential.Scheme}, not {status}");
            await Task.Delay(100);
        }
    }
}
