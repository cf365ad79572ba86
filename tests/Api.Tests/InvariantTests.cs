using Xunit;

namespace TrainedModelsOrleans.Api.Tests;

/// <summary>Invariants under concurrent, conflicting requests, checked in Postgres afterwards (own database: adds nodes).</summary>
public sealed class InvariantTests(ServiceFixture service) : IClassFixture<ServiceFixture>
{
    [Fact]
    public async Task Concurrent_starts_updates_and_stops_never_oversubscribe_a_node()
    {
        await service.AddPhantomNodeAsync(Deployments.NewId("phantom-a"), 4);
        await service.AddPhantomNodeAsync(Deployments.NewId("phantom-b"), 2);
        var models = new List<string>();
        for (var i = 0; i < 6; i++) models.Add(await service.UploadModelAsync("busy"));

        var random = new Random(7);
        for (var round = 0; round < 4; round++)
        {
            var requests = models.SelectMany(model => new Func<Task<Response>>[]
            {
                () => service.StartAsync(model, $"wait_for=starting&number_of_allocations={random.Next(1, 5)}&threads_per_allocation={(random.Next(2) == 0 ? 1 : 2)}"),
                () => service.UpdateAsync(model, random.Next(1, 6)),
                () => service.StopAsync(model),
            }).OrderBy(_ => random.Next()).ToArray();
            var responses = await Task.WhenAll(requests.Select(r => Task.Run(r)));
            Assert.All(responses, r => Assert.True((int)r.Status is 200 or 400 or 404 or 409 or 429, r.Text));
            await service.AssertNoNodeOversubscribedAsync();
        }
        foreach (var model in models) (await service.StopAsync(model)).AssertOk();
        Assert.Equal(0, await service.CountAsync("SELECT count(*) FROM deployment_routes WHERE deployment_id = ANY($1)", (object)models.ToArray()));
    }
}
