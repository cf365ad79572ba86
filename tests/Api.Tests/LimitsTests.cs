using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Orleans;
using Orleans.Runtime;
using TrainedModelsOrleans.TestSupport;
using Xunit;

namespace TrainedModelsOrleans.Api.Tests;

/// <summary>A node with small limits, so that each refusal is cheap to provoke.</summary>
public sealed class SmallLimitsFixture : ServiceFixture
{
    protected override string[] ExtraArguments =>
    [
        "--Limits:MaxContentLength=1048576", "--Limits:MaxInferDocs=5", "--Limits:MaxTrees=20", "--Limits:MaxNodesPerTree=15",
        "--Limits:MaxTotalTreeNodes=100", "--Limits:MaxTotalDefinitionLength=1000", "--Limits:MaxInflatedDefinitionLength=65536",
    ];
}

public sealed class LimitsTests(SmallLimitsFixture service) : IClassFixture<SmallLimitsFixture>
{
    [Fact]
    public async Task Body_over_max_content_length_is_413_naming_the_setting()
    {
        (await service.PutAsync("/_ml/trained_models/big", TreeEnsembles.Config(2, 1))).AssertOk();
        var body = $$"""{"definition":"{{new string('A', 1_100_000)}}","total_definition_length":900,"total_parts":1}""";
        // Expect: 100-continue, so the client waits for the answer before sending the body: the node answers 413 and
        // closes without reading it, and a client still writing would see a broken pipe instead of the answer.
        using var request = new HttpRequestMessage(HttpMethod.Put, "/_ml/trained_models/big/definition/0")
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
            Headers = { ExpectContinue = true },
        };
        using var answer = await service.Http.SendAsync(request);
        var text = await answer.Content.ReadAsStringAsync();
        Assert.True((int)answer.StatusCode == 413, text);
        Assert.Contains("is larger than [http.max_content_length] [1mb] (setting Limits:MaxContentLength)", text);
        Assert.Contains("content_too_long_exception", text);
        Assert.True(answer.Headers.ConnectionClose, "the node closes the connection after a 413, as ES does");
    }

    [Fact]
    public async Task A_gzip_body_that_inflates_past_max_content_length_is_413_without_a_misleading_length()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/_ml/trained_models/anything/_infer")
        {
            Content = new ByteArrayContent(Gzip(Encoding.UTF8.GetBytes($$"""{"docs":[{"text":"{{new string('a', 3_000_000)}}"}]}"""))),
        };
        request.Content.Headers.ContentType = new("application/json");
        request.Content.Headers.ContentEncoding.Add("gzip");
        using var answer = await service.Http.SendAsync(request);
        var text = await answer.Content.ReadAsStringAsync();
        Assert.True((int)answer.StatusCode == 413, text);
        Assert.Contains("\"reason\":\"request body is larger than [http.max_content_length] [1mb] (setting Limits:MaxContentLength)\"", text);
    }

    [Fact]
    public async Task A_compressed_definition_that_inflates_past_its_bound_is_refused_while_inflating_and_not_stored()
    {
        // 20 MB of zeros in ~20 KB of gzip: refused at the bound (64 KB here), not after inflating all of it.
        var bomb = Convert.ToBase64String(Gzip(new byte[20_000_000], CompressionLevel.SmallestSize));
        (await service.PutAsync("/_ml/trained_models/gzip-bomb",
                $$$"""{"input":{"field_names":["f0"]},"inference_config":{"regression":{}},"compressed_definition":"{{{bomb}}}"}"""))
            .AssertError(429, "circuit_breaking_exception",
                "Cannot parse model definition as the content is larger than the maximum stream size of [65536] bytes (setting Limits:MaxInflatedDefinitionLength)");
        (await service.GetAsync("/_ml/trained_models/gzip-bomb")).AssertError(404, "resource_not_found_exception", "gzip-bomb");
        // A compressed stream already longer than the bound is refused before inflating, as ES does.
        var incompressible = new byte[70_000];
        new Random(3).NextBytes(incompressible);
        (await service.PutAsync("/_ml/trained_models/gzip-long",
                $$$"""{"input":{"field_names":["f0"]},"inference_config":{"regression":{}},"compressed_definition":"{{{Convert.ToBase64String(Gzip(incompressible))}}}"}"""))
            .AssertError(429, "circuit_breaking_exception", "compressed stream is longer than maximum allowed bytes [65536]");
    }

    private static byte[] Gzip(byte[] bytes, CompressionLevel level = CompressionLevel.Fastest)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, level)) gzip.Write(bytes);
        return buffer.ToArray();
    }

    [Fact]
    public async Task Definition_declaring_more_than_the_maximum_is_refused_before_it_is_stored()
    {
        (await service.PutAsync("/_ml/trained_models/long-definition", """{"model_type":"onnx","inference_config":{"pass_through":{}}}""")).AssertOk();
        (await service.PutAsync("/_ml/trained_models/long-definition/definition/0", """{"definition":"AAAA","total_definition_length":1001,"total_parts":2}"""))
            .AssertError(400, "status_exception", "[long-definition] [total_definition_length] [1001] is more than the limit of [1000] bytes (setting Limits:MaxTotalDefinitionLength)");
        // A part within the maximum is taken, and one that would pass total_definition_length is refused.
        (await service.PutAsync("/_ml/trained_models/long-definition/definition/0", """{"definition":"AAAA","total_definition_length":4,"total_parts":2}""")).AssertOk();
        (await service.PutAsync("/_ml/trained_models/long-definition/definition/1", """{"definition":"AAAA","total_definition_length":4,"total_parts":2}"""))
            .AssertError(400, "status_exception", "model definition parts add up to [6] bytes, more than [total_definition_length] [4]");
    }

    [Fact]
    public async Task Tree_ensembles_over_the_size_limits_are_refused_and_not_stored()
    {
        (await service.PutAsync("/_ml/trained_models/many-trees", TreeEnsembles.Config(21, 1)))
            .AssertError(400, "status_exception", "tree model [many-trees] has more than [20] trees, more than the limit of [20] trees (setting Limits:MaxTrees)");
        (await service.PutAsync("/_ml/trained_models/deep-tree", TreeEnsembles.Config(1, 4)))
            .AssertError(400, "status_exception", "tree model [deep-tree] has a tree of [31] nodes, more than the limit of [15] nodes per tree (setting Limits:MaxNodesPerTree)");
        (await service.PutAsync("/_ml/trained_models/many-nodes", TreeEnsembles.Config(15, 3)))
            .AssertError(400, "status_exception", "tree model [many-nodes] has more than [100] nodes, more than the limit of [100] nodes in all (setting Limits:MaxTotalTreeNodes)");
        // The same limits hold for a definition given compressed.
        (await service.PutAsync("/_ml/trained_models/many-trees-compressed", TreeEnsembles.CompressedConfig(21, 1)))
            .AssertError(400, "status_exception", "(setting Limits:MaxTrees)");
        foreach (var id in new[] { "many-trees", "deep-tree", "many-nodes", "many-trees-compressed" })
            (await service.GetAsync($"/_ml/trained_models/{id}")).AssertError(404, "resource_not_found_exception", $"No known trained model with model_id [{id}]");
        (await service.PutAsync("/_ml/trained_models/small-trees", TreeEnsembles.Config(14, 2))).AssertOk();
    }

    [Fact]
    public async Task Infer_with_more_docs_than_the_limit_is_refused()
    {
        (await service.PutAsync("/_ml/trained_models/docs-limit", TreeEnsembles.Config(2, 1))).AssertOk();
        var docs = new JsonArray(Enumerable.Range(0, 6).Select(i => (JsonNode?)new JsonObject { ["f0"] = i }).ToArray());
        (await service.PostAsync("/_ml/trained_models/docs-limit/_infer", new JsonObject { ["docs"] = docs }))
            .AssertError(400, "illegal_argument_exception", "[docs] holds [6] documents, more than the limit of [5] per request (setting Limits:MaxInferDocs)");
        var five = new JsonArray(Enumerable.Range(0, 5).Select(i => (JsonNode?)new JsonObject { ["f0"] = i }).ToArray());
        var results = (await service.PostAsync("/_ml/trained_models/docs-limit/_infer", new JsonObject { ["docs"] = five })).AssertOk().Body["inference_results"]!.AsArray();
        Assert.Equal(5, results.Count);
    }
}

public sealed class TreeTimeoutTests(ServiceFixture service) : IClassFixture<ServiceFixture>
{
    [Fact]
    public async Task Tree_inference_past_its_timeout_answers_408_and_the_model_still_serves()
    {
        // 2,000 trees of 15 nodes (within the default limits) over 10,000 docs: 20M tree walks and 80M node visits, far
        // more than 100 ms of CPU on any machine; small enough to store quickly on a loaded one; sent gzip-compressed.
        (await service.PutAsync("/_ml/trained_models/slow-trees", TreeEnsembles.CompressedConfig(2_000, 3))).AssertOk();
        var docs = new JsonArray(Enumerable.Range(0, 10_000).Select(i => (JsonNode?)new JsonObject { ["f0"] = i % 7, ["f1"] = i % 3 }).ToArray());
        (await service.PostAsync("/_ml/trained_models/slow-trees/_infer?timeout=100ms", new JsonObject { ["docs"] = docs }))
            .AssertError(408, "status_exception", "timeout [100ms] waiting for inference result");

        var one = new JsonArray(new JsonObject { ["f0"] = 1, ["f1"] = 1 });
        var results = (await service.PostAsync("/_ml/trained_models/slow-trees/_infer?timeout=60s", new JsonObject { ["docs"] = one }))
            .AssertOk().Body["inference_results"]!.AsArray();
        Assert.Single(results);
    }
}

/// <summary>Generated regression ensembles: <c>trees</c> full binary trees of <c>depth</c> splits over features f0 and f1.</summary>
internal static class TreeEnsembles
{
    public static string Definition(int trees, int depth)
    {
        var json = new StringBuilder("""{"trained_model":{"ensemble":{"feature_names":["f0","f1"],"target_type":"regression","aggregate_output":{"weighted_sum":{}},"trained_models":[""");
        for (var t = 0; t < trees; t++)
        {
            if (t > 0) json.Append(',');
            json.Append("""{"tree":{"feature_names":["f0","f1"],"target_type":"regression","tree_structure":[""");
            var nodes = (1 << (depth + 1)) - 1;
            for (var n = 0; n < nodes; n++)
            {
                if (n > 0) json.Append(',');
                json.Append(n < nodes / 2
                    ? $$"""{"node_index":{{n}},"split_feature":{{n % 2}},"threshold":{{(n + t) % 5}}.5,"left_child":{{2 * n + 1}},"right_child":{{2 * n + 2}}}"""
                    : $$"""{"node_index":{{n}},"leaf_value":[{{(n + t) % 10}}.0]}""");
            }
            json.Append("]}}");
        }
        return json.Append("]}}}").ToString();
    }

    public static string Config(int trees, int depth) =>
        $$$"""{"input":{"field_names":["f0","f1"]},"inference_config":{"regression":{}},"definition":{{{Definition(trees, depth)}}}}""";

    public static string CompressedConfig(int trees, int depth)
    {
        using var gzip = new MemoryStream();
        using (var stream = new GZipStream(gzip, CompressionLevel.Fastest))
            stream.Write(Encoding.UTF8.GetBytes(Definition(trees, depth)));
        return $$$"""{"input":{"field_names":["f0","f1"]},"inference_config":{"regression":{}},"compressed_definition":"{{{Convert.ToBase64String(gzip.ToArray())}}}"}""";
    }
}

/// <summary>A node whose id-keyed activations are collected after 2 s idle, not a minute.</summary>
public sealed class ShortCollectionAgeFixture : ServiceFixture
{
    protected override string[] ExtraArguments => ["--Runtime:CollectionQuantum=00:00:01", "--Runtime:IdKeyedCollectionAge=00:00:02"];
}

public sealed class IdKeyedCollectionTests(ShortCollectionAgeFixture service) : IClassFixture<ShortCollectionAgeFixture>
{
    private static readonly string[] PerIdGrainTypes = ["TrainedModelGrain", "DeploymentGrain", "InferenceWorkerGrain"];

    [Fact]
    public async Task A_deleted_model_and_its_stopped_deployment_leave_no_activations_once_idle_and_a_live_one_keeps_serving()
    {
        var management = service.Node.Services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0);
        var gone = await service.UploadModelAsync("collected");
        var kept = await service.UploadModelAsync("kept");
        (await service.StartAsync(gone)).AssertOk();
        (await service.StartAsync(kept)).AssertOk();
        Assert.Equal(1, await ActivationsOfAsync(management, gone, "DeploymentGrain"));
        (await service.StopAsync(gone)).AssertOk();
        (await service.DeleteAsync($"/_ml/trained_models/{gone}")).AssertOk();

        // Before: they stayed for Orleans' 15-minute collection age, one set per id a churn of ids went through.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        var left = new Dictionary<string, int>();
        foreach (var type in PerIdGrainTypes)
            while ((left[type] = await ActivationsOfAsync(management, gone, type)) > 0 && DateTime.UtcNow < deadline) await Task.Delay(250);
        Assert.True(left.Values.All(v => v == 0), string.Join(", ", left.Select(l => $"{l.Key} {l.Value}")));

        // The live deployment's activations were collected too while idle; its next request activates them anew and is served.
        var row = new JsonArray(Enumerable.Range(0, 64).Select(i => (JsonNode?)(i / 64f)).ToArray());
        var doc = new JsonObject { ["tensor"] = new JsonObject { ["shape"] = new JsonArray(1, 64), ["data"] = row } };
        (await service.PostAsync($"/_ml/trained_models/{kept}/_infer", new JsonObject { ["docs"] = new JsonArray(doc) })).AssertOk();
        (await service.GetAsync($"/_ml/trained_models/{kept}/_stats")).AssertOk();
        // The deleted id is free again.
        Assert.Equal(gone, await service.UploadModelAsync("collected", id: gone));
    }

    private static async Task<int> ActivationsOfAsync(IManagementGrain management, string id, string grainType) =>
        (await management.GetDetailedGrainStatistics())
            .Count(s => s.GrainType.Contains(grainType, StringComparison.Ordinal) && s.GrainId.Key.ToString()!.Contains(id, StringComparison.Ordinal));
}

public sealed class UnknownIdFloodTests(ServiceFixture service) : IClassFixture<ServiceFixture>
{
    private static readonly string[] PerIdGrainTypes = ["TrainedModelGrain", "IngestPipelineGrain", "ModelAliasGrain", "DeploymentGrain"];

    [Fact]
    public async Task A_flood_of_unknown_ids_leaves_no_rows_and_no_activations()
    {
        // A known model, so that the flood's _infer and alias requests get past their first checks.
        (await service.PutAsync("/_ml/trained_models/flood-known", TreeEnsembles.Config(2, 1))).AssertOk();
        var management = service.Node.Services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0);
        var rowsBefore = await RowCountsAsync();
        var activationsBefore = await PerIdActivationsAsync(management);

        var random = new Random(14);
        Func<string, Task<Response>>[] requests =
        [
            id => service.GetAsync($"/_ml/trained_models/{id}"),
            id => service.DeleteAsync($"/_ml/trained_models/{id}"),
            id => service.PutAsync($"/_ml/trained_models/{id}/definition/0", """{"definition":"QUJD","total_definition_length":3,"total_parts":1}"""),
            id => service.PutAsync($"/_ml/trained_models/{id}/vocabulary", """{"vocabulary":["a"]}"""),
            id => service.PostAsync($"/_ml/trained_models/{id}/_infer", """{"docs":[{"f0":1}]}"""),
            id => service.PostAsync($"/_ml/trained_models/{id}/deployment/_stop"),
            id => service.PostAsync($"/_ml/trained_models/{id}/deployment/_update", """{"number_of_allocations":1}"""),
            id => service.PostAsync($"/_ml/trained_models/{id}/deployment/cache/_clear"),
            id => service.DeleteAsync($"/_ml/trained_models/flood-known/model_aliases/{id}"),
            id => service.PutAsync($"/_ml/trained_models/{id}/model_aliases/alias-{id}"),
            id => service.GetAsync($"/_ingest/pipeline/{id}"),
            id => service.DeleteAsync($"/_ingest/pipeline/{id}"),
        ];
        var statuses = new List<int>();
        for (var batch = 0; batch < 50; batch++)
        {
            var answers = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ =>
                requests[random.Next(requests.Length)]($"unknown-{random.Next():x8}")));
            statuses.AddRange(answers.Select(a => (int)a.Status));
        }
        Assert.Equal(1_000, statuses.Count);
        Assert.All(statuses, s => Assert.InRange(s, 200, 499));

        Assert.Equal(rowsBefore, await RowCountsAsync());
        // Deactivation follows each call at once; allow the runtime a bounded while to finish it.
        var activations = await PerIdActivationsAsync(management);
        for (var attempt = 0; attempt < 100 && activations > activationsBefore; attempt++)
        {
            await Task.Delay(100);
            activations = await PerIdActivationsAsync(management);
        }
        var byType = string.Join(", ", (await management.GetSimpleGrainStatistics()).Where(s => s.ActivationCount > 0).Select(s => $"{s.GrainType} {s.ActivationCount}"));
        Assert.True(activations <= activationsBefore, $"{activations} activations of per-id grains remain, {activationsBefore} before the flood: {byType}");
    }

    private static async Task<int> PerIdActivationsAsync(IManagementGrain management) =>
        (await management.GetSimpleGrainStatistics())
            .Where(s => PerIdGrainTypes.Any(t => s.GrainType.Contains(t, StringComparison.Ordinal)))
            .Sum(s => s.ActivationCount);

    /// <summary>Every table's row count (the service's and Orleans' tables alike), by name.</summary>
    private async Task<Dictionary<string, long>> RowCountsAsync()
    {
        var tables = new List<string>();
        await using (var list = service.Database.DataSource.CreateCommand(
            "SELECT quote_ident(table_schema) || '.' || quote_ident(table_name) FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"))
        await using (var reader = await list.ExecuteReaderAsync())
            while (await reader.ReadAsync()) tables.Add(reader.GetString(0));
        var counts = new Dictionary<string, long>();
        foreach (var table in tables)
            counts[table] = await service.Database.ScalarAsync<long>($"SELECT count(*) FROM {table}");
        return counts;
    }
}
