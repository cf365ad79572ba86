using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using TrainedModelsOrleans.Grains.Serving;
using TrainedModelsOrleans.TestModels;
using Xunit;
using Xunit.Abstractions;

namespace TrainedModelsOrleans.Api.Tests;

/// <summary>
/// On a running node, _infer (each one refreshing the node's inference view), GET listings and _stats write no grain
/// state row, and an alias move reaches the next request. Orleans commits even a read-only transaction by storing its
/// timestamp, so a transaction per read would rewrite the namespace row each time.
/// </summary>
public sealed class CommittedReadTests(ServiceFixture service, ITestOutputHelper output) : IClassFixture<ServiceFixture>
{
    private const int Reads = 200;

    [Fact]
    public async Task Inference_and_listings_rewrite_no_state_row_and_follow_an_alias_move()
    {
        var prefix = Deployments.NewId("read");
        var (first, second) = (await service.UploadModelAsync(id: $"{prefix}-a"), await service.UploadModelAsync(id: $"{prefix}-b"));
        (await service.StartAsync(first)).AssertOk();
        (await service.StartAsync(second)).AssertOk();
        var alias = "read-" + Guid.NewGuid().ToString("N")[..8] + "x";
        (await service.PutAsync($"/_ml/trained_models/{first}/model_aliases/{alias}")).AssertOk();
        var view = service.Node.Services.GetRequiredService<InferenceTargets>();
        var doc = new JsonObject { ["docs"] = new JsonArray(TensorDoc()) };
        await ReadAsync(view, alias, prefix, doc, stats: true);

        var before = await StateRowVersionsAsync();
        for (var i = 0; i < Reads; i++) await ReadAsync(view, alias, prefix, doc, stats: i % 4 == 0);
        var rewritten = Rewritten(before, await StateRowVersionsAsync());
        output.WriteLine($"{Reads} _infer (each refreshing the view), {Reads} listings, {Reads / 4} _stats: {rewritten.Count} state rows rewritten");
        Assert.True(rewritten.Count == 0, string.Join("\n", rewritten));

        (await service.PutAsync($"/_ml/trained_models/{second}/model_aliases/{alias}?reassign=true")).AssertOk();
        Assert.Equal(second, (string?)(await service.GetAsync($"/_ml/trained_models/{alias}")).AssertOk().Body["trained_model_configs"]![0]!["model_id"]);
        (await service.PostAsync($"/_ml/trained_models/{alias}/_infer", doc)).AssertOk();
        var served = (await service.GetAsync($"/_ml/trained_models/{second}/_stats")).AssertOk()
            .Body["trained_model_stats"]![0]!["deployment_stats"]!["nodes"]![0]!["inference_count"]!.GetValue<long>();
        Assert.Equal(1, served);

        (await service.StopAsync(first)).AssertOk();
        (await service.StopAsync(second)).AssertOk();
    }

    private async Task ReadAsync(InferenceTargets view, string alias, string prefix, JsonObject doc, bool stats)
    {
        view.Invalidate();
        (await service.PostAsync($"/_ml/trained_models/{alias}/_infer", doc)).AssertOk();
        (await service.GetAsync($"/_ml/trained_models/{prefix}*")).AssertOk();
        if (stats) (await service.GetAsync($"/_ml/trained_models/{prefix}*/_stats")).AssertOk();
    }

    private static JsonObject TensorDoc() => new()
    {
        ["tensor"] = new JsonObject
        {
            ["shape"] = new JsonArray(1, 64),
            ["data"] = new JsonArray(Enumerable.Range(0, 64).Select(i => (JsonNode?)(i / 64f)).ToArray()),
        },
    };

    /// <summary>Every grain state row's version (the ADO.NET storage bumps it on each write), once no row holds a prepared state.</summary>
    private async Task<Dictionary<string, long>> StateRowVersionsAsync()
    {
        await TestSupport.CommittedRows.WaitAsync(service.Database.DataSource);
        await using var command = service.Database.DataSource.CreateCommand("SELECT graintypestring || ' ' || COALESCE(grainidextensionstring, ''), version FROM orleansstorage");
        await using var reader = await command.ExecuteReaderAsync();
        var versions = new Dictionary<string, long>(StringComparer.Ordinal);
        while (await reader.ReadAsync()) versions[reader.GetString(0)] = reader.GetInt32(1);
        return versions;
    }

    private static List<string> Rewritten(Dictionary<string, long> before, Dictionary<string, long> after) =>
        after.Where(r => !before.TryGetValue(r.Key, out var version) || version != r.Value)
            .Select(r => $"{r.Key} v{(before.TryGetValue(r.Key, out var version) ? version : 0)}→v{r.Value}").ToList();
}
