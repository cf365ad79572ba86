using TrainedModelsOrleans.TestSupport;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Xunit;

namespace TrainedModelsOrleans.Api.Tests;

public sealed class RestartTests(ServiceFixture service) : IClassFixture<ServiceFixture>
{
    [Fact]
    public async Task A_gracefully_restarted_node_brings_its_deployments_back_and_reopens_them()
    {
        var model = await service.UploadModelAsync();
        var named = Deployments.NewId("named");
        (await service.StartAsync(model, "number_of_allocations=2")).AssertOk();
        (await service.StartAsync(model, $"deployment_id={named}&threads_per_allocation=2")).AssertOk();
        var before = await RoutesAsync(service.Database.DataSource);

        await service.RestartAsync();

        await WaitUntilStartedAsync(service.GetAsync, model, named);
        Assert.Equal(before, await RoutesAsync(service.Database.DataSource));
    }

    [Fact]
    public async Task A_node_killed_with_sigkill_comes_back_with_the_same_routing_and_reopens_its_models()
    {
        await using var database = await TestSupport.TestDatabase.CreateAsync("killed");
        var port = NodeProcess.FreePort();
        string[] args =
        [
            $"--ConnectionStrings:Postgres={database.ConnectionString}",
            $"--DataDirectory={TestSupport.TestRunDirectory.CreateScratchDirectory("killed")}",
            "--Node:Name=killed-node", "--Node:Processors=4", "--Node:MemoryBytes=17179869184",
            "--Logging:LogLevel:Default=Warning", "--Logging:LogLevel:TrainedModelsOrleans=Warning",
            "--Logging:LogLevel:Microsoft.Hosting.Lifetime=Warning",
        ];
        var models = new List<string>();
        await using (var node = await NodeProcess.StartAsync(port, args))
        {
            using var http = TestSecurity.Client(node.BaseAddress);
            for (var i = 0; i < 2; i++)
            {
                var id = Deployments.NewId("survivor");
                Ok(await http.PutAsJsonAsync($"/_ml/trained_models/{id}", ModelUploads.OnnxConfig()));
                Ok(await http.PutAsJsonAsync($"/_ml/trained_models/{id}/definition/0", ModelUploads.Parts(TestModels.TestOnnxModels.Mlp(), 1)[0]));
                Ok(await http.PostAsync($"/_ml/trained_models/{id}/deployment/_start?number_of_allocations={i + 1}", null));
                models.Add(id);
            }
            await node.KillAsync();
        }
        var before = await RoutesAsync(database.DataSource);
        Assert.Equal(2, before.Count);

        await using (var node = await NodeProcess.StartAsync(port, args))
        {
            using var http = TestSecurity.Client(node.BaseAddress);
            await WaitUntilStartedAsync(async path => await ReadAsync(http, path), models.ToArray());
            Assert.Equal(before, await RoutesAsync(database.DataSource));
            await node.StopAsync();
        }
    }

    private static void Ok(HttpResponseMessage response) =>
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {response.Content.ReadAsStringAsync().Result}");

    private static async Task<Response> ReadAsync(HttpClient http, string path)
    {
        using var response = await http.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        return new Response(response.StatusCode, JsonNode.Parse(text), text, new Dictionary<string, string>());
    }

    /// <summary>Every deployment's routes as "deployment@node=allocations", sorted.</summary>
    private static async Task<List<string>> RoutesAsync(Npgsql.NpgsqlDataSource dataSource)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT deployment_id || '@' || node || '=' || target_allocations FROM deployment_routes ORDER BY 1");
        await using var reader = await command.ExecuteReaderAsync();
        var routes = new List<string>();
        while (await reader.ReadAsync()) routes.Add(reader.GetString(0));
        return routes;
    }

    /// <summary>Waits until the stats show every deployment started on every route (the models are open again).</summary>
    private static async Task WaitUntilStartedAsync(Func<string, Task<Response>> get, params string[] deployments)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var stats = (await get("/_ml/trained_models/_stats")).AssertOk().Body["trained_model_stats"]!.AsArray()
                .Select(s => s!["deployment_stats"]).Where(d => d is not null).ToArray();
            var started = stats.Where(d => deployments.Contains(d!["deployment_id"]!.GetValue<string>())
                                           && d!["state"]!.GetValue<string>() == "started"
                                           && d["nodes"]!.AsArray().All(n => n!["routing_state"]!["routing_state"]!.GetValue<string>() == "started"))
                .Count();
            if (started == deployments.Length) return;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"only {started} of {deployments.Length} deployments started again");
            await Task.Delay(100);
        }
    }
}
