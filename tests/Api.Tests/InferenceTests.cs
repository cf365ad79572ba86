using Microsoft.Extensions.DependencyInjection;
using System.Net;
using System.Text.Json.Nodes;
using TrainedModelsOrleans.Inference.OnnxRuntime;
using TrainedModelsOrleans.TestModels;
using Xunit;

namespace TrainedModelsOrleans.Api.Tests;

public sealed class InferenceTests(ServiceFixture service) : IClassFixture<ServiceFixture>
{
    private static float[] RandomRow(int seed, int width = 64)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, width).Select(_ => (float)random.NextDouble()).ToArray();
    }

    private static JsonObject TensorDoc(float[] data, params long[] shape) => new()
    {
        ["tensor"] = new JsonObject { ["shape"] = new JsonArray(shape.Select(d => (JsonNode?)d).ToArray()), ["data"] = new JsonArray(data.Select(v => (JsonNode?)v).ToArray()) },
    };

    private Task<Response> InferAsync(string id, params JsonObject[] docs) =>
        service.PostAsync($"/_ml/trained_models/{id}/_infer", new JsonObject { ["docs"] = new JsonArray(docs.Select(d => d.DeepClone()).ToArray()) });

    private static float[] Floats(JsonNode node) => node.AsArray().Select(v => v!.GetValue<float>()).ToArray();

    [Fact]
    public async Task The_nodes_view_of_inference_targets_drops_the_config_of_a_model_stopped_and_deleted()
    {
        var targets = service.Node.Services.GetRequiredService<TrainedModelsOrleans.Grains.Serving.InferenceTargets>();
        var gone = await service.UploadModelAsync("targets-gone");
        var kept = await service.UploadModelAsync("targets-kept");
        (await service.StartAsync(gone)).AssertOk();
        (await service.StartAsync(kept)).AssertOk();
        foreach (var id in new[] { gone, kept }) (await InferAsync(id, TensorDoc(RandomRow(1), 1, 64))).AssertOk();
        Assert.True((await targets.CurrentAsync(DateTimeOffset.UtcNow)).Configs.ContainsKey(gone));

        (await service.StopAsync(gone)).AssertOk();
        (await service.DeleteAsync($"/_ml/trained_models/{gone}")).AssertOk();
        // Before, every config ever read stayed in the view: one more for each model a churn of ids deployed.
        var after = await targets.CurrentAsync(DateTimeOffset.UtcNow);
        Assert.False(after.Configs.ContainsKey(gone));
        Assert.True(after.Configs.ContainsKey(kept));
        (await InferAsync(kept, TensorDoc(RandomRow(2), 1, 64))).AssertOk();
        (await service.StopAsync(kept)).AssertOk();
    }

    [Fact]
    public async Task Tensor_docs_return_what_onnx_runtime_computes_in_input_order()
    {
        var model = await service.UploadModelAsync("mlp");
        (await service.StartAsync(model)).AssertOk();
        var rows = Enumerable.Range(0, 3).Select(i => RandomRow(i)).ToArray();
        var results = (await InferAsync(model, rows.Select(r => TensorDoc(r, 1, 64)).ToArray())).AssertOk().Body["inference_results"]!.AsArray();

        Assert.Equal(3, results.Count);
        for (var i = 0; i < rows.Length; i++)
        {
            var expected = TestOnnxModels.MlpReference(rows[i], 1);
            var probs = results[i]!["tensors"]!["probs"]!;
            Assert.Equal("[1,8]", probs["shape"]!.ToJsonString());
            var actual = Floats(probs["data"]!);
            for (var j = 0; j < expected.Length; j++) Assert.Equal(expected[j], actual[j], 1e-5f);
            Assert.Equal(expected[0], results[i]!["predicted_value"]![0]![0]!.GetValue<float>(), 1e-5f);
        }

        var named = new JsonObject { ["tensors"] = new JsonObject { ["input"] = TensorDoc(rows[0], 1, 64)["tensor"]!.DeepClone() } };
        Assert.Equal(Floats(results[0]!["tensors"]!["probs"]!["data"]!), Floats((await InferAsync(model, named)).AssertOk().Body["inference_results"]![0]!["tensors"]!["probs"]!["data"]!));
        (await service.StopAsync(model)).AssertOk();
    }

    [Fact]
    public async Task Infer_errors_follow_elasticsearch_and_name_the_field()
    {
        (await InferAsync("no-such-model", TensorDoc(RandomRow(1), 1, 64))).AssertError(404, "resource_not_found_exception", "Could not find trained model [no-such-model]");
        var model = await service.UploadModelAsync("idle");
        (await InferAsync(model, TensorDoc(RandomRow(1), 1, 64)))
            .AssertError(409, "status_exception", $"Model [{model}] must be deployed to use. Please deploy with the start trained model deployment API.");
        (await service.StartAsync(model)).AssertOk();

        (await InferAsync(model, TensorDoc(RandomRow(1, 10), 1, 10))).AssertError(400, "status_exception", "[docs][0][tensor][shape] dimension [1] is 10, but input [input] needs 64");
        (await InferAsync(model, TensorDoc(RandomRow(1, 10), 1, 64))).AssertError(400, "status_exception", "[docs][0][tensor][data] has 10 values, but shape [1,64] needs 64");
        (await service.PostAsync($"/_ml/trained_models/{model}/_infer")).AssertError(400, "status_exception", "requires body");
        (await service.PostAsync($"/_ml/trained_models/{model}/_infer", new JsonObject { ["docs"] = new JsonArray(), ["bogus"] = 1 }))
            .AssertError(400, "x_content_parse_exception", "unknown field [bogus]");

        var deprecated = await service.PostAsync($"/_ml/trained_models/{model}/deployment/_infer",
            new JsonObject { ["docs"] = new JsonArray(TensorDoc(RandomRow(1), 1, 64), TensorDoc(RandomRow(2), 1, 64)) });
        deprecated.AssertError(400, "status_exception", "multiple documents are not supported");
        Assert.Contains("is deprecated! Use [POST /_ml/trained_models/{model_id}/_infer] instead.", deprecated.Headers["Warning"]);
        (await service.StopAsync(model)).AssertOk();
        (await InferAsync(model, TensorDoc(RandomRow(1), 1, 64))).AssertError(409, "status_exception", "must be deployed to use");
    }

    [Fact]
    public async Task Tree_models_are_evaluated_without_a_deployment()
    {
        var tree = Deployments.NewId("tree");
        (await service.PutAsync($"/_ml/trained_models/{tree}", ModelUploads.TreeModel())).AssertOk();
        var results = (await InferAsync(tree, new JsonObject { ["col1"] = 3 }, new JsonObject { ["col1"] = 7 })).AssertOk().Body["inference_results"]!;
        Assert.Equal(1.0, results[0]!["predicted_value"]!.GetValue<double>());
        Assert.Equal(2.0, results[1]!["predicted_value"]!.GetValue<double>());
    }

    [Fact]
    public async Task A_full_queue_answers_429_with_the_rejected_execution_body_and_counts_it()
    {
        var model = await service.UploadModelAsync("medium", TestOnnxModels.Medium());
        (await service.StartAsync(model, "queue_capacity=1")).AssertOk();
        // 32 rows of a ~1 ms model: each run takes tens of milliseconds, so requests overlap for sure.
        // Every doc differs: the result cache (by default as big as the model) would answer repeats at once.
        var docs = Enumerable.Range(0, 24).Select(i => TensorDoc(RandomRow(100 + i, 32 * 1024), 32, 1024)).ToArray();
        var responses = await Task.WhenAll(docs.Select(doc => Task.Run(() => InferAsync(model, doc))));

        Assert.Contains(responses, r => r.Status == HttpStatusCode.OK);
        var rejected = responses.Where(r => (int)r.Status == 429).ToArray();
        Assert.NotEmpty(rejected);
        foreach (var r in rejected) r.AssertError(429, "es_rejected_execution_exception", "inference process queue is full. Unable to execute command");
        Assert.All(responses, r => Assert.True(r.Status is HttpStatusCode.OK || (int)r.Status == 429, r.Text));

        var stats = (await service.GetAsync($"/_ml/trained_models/{model}/_stats")).AssertOk().Body["trained_model_stats"]![0]!["deployment_stats"]!;
        Assert.Equal(rejected.Length, stats["rejected_execution_count"]!.GetValue<int>());
        Assert.Equal(rejected.Length, stats["nodes"]![0]!["rejected_execution_count"]!.GetValue<int>());
        (await service.StopAsync(model)).AssertOk();
    }

    [Fact]
    public async Task Stats_count_inferences_cache_hits_and_throughput_per_node()
    {
        var model = await service.UploadModelAsync("counted");
        (await service.StartAsync(model, "cache_size=1mb")).AssertOk();
        var doc = TensorDoc(RandomRow(9), 1, 64);
        for (var i = 0; i < 5; i++) (await InferAsync(model, doc)).AssertOk();
        (await InferAsync(model, TensorDoc(RandomRow(10), 1, 64))).AssertOk();

        var node = (await service.GetAsync($"/_ml/trained_models/{model}/_stats")).AssertOk().Body["trained_model_stats"]![0]!["deployment_stats"]!["nodes"]![0]!;
        Assert.Equal(6, node["inference_count"]!.GetValue<long>());
        Assert.Equal(4, node["inference_cache_hit_count"]!.GetValue<long>());
        Assert.True(node["average_inference_time_ms"]!.GetValue<double>() >= 0);
        Assert.Equal(6, node["throughput_last_minute"]!.GetValue<long>());
        Assert.NotNull(node["last_access"]);
        Assert.Equal(0, node["number_of_pending_requests"]!.GetValue<int>());
        (await service.StopAsync(model)).AssertOk();
    }

    [Fact]
    public async Task Clearing_the_cache_makes_a_cached_result_run_again()
    {
        var model = await service.UploadModelAsync("cleared");
        (await service.StartAsync(model, "cache_size=1mb")).AssertOk();
        var doc = TensorDoc(RandomRow(11), 1, 64);
        async Task<long> CacheHitsAsync() =>
            (await service.GetAsync($"/_ml/trained_models/{model}/_stats")).AssertOk()
                .Body["trained_model_stats"]![0]!["deployment_stats"]!["nodes"]![0]!["inference_cache_hit_count"]!.GetValue<long>();

        (await InferAsync(model, doc)).AssertOk();
        (await InferAsync(model, doc)).AssertOk();
        Assert.Equal(1, await CacheHitsAsync());

        var cleared = (await service.PostAsync($"/_ml/trained_models/{model}/deployment/cache/_clear")).AssertOk();
        Assert.Equal("""{"cleared":true}""", cleared.Text);
        (await InferAsync(model, doc)).AssertOk();
        Assert.Equal(1, await CacheHitsAsync()); // recomputed: not a hit
        (await InferAsync(model, doc)).AssertOk();
        Assert.Equal(2, await CacheHitsAsync()); // cached again

        (await service.StopAsync(model)).AssertOk();
        (await service.PostAsync($"/_ml/trained_models/{model}/deployment/cache/_clear"))
            .AssertError(404, "resource_not_found_exception", $"No known model deployment with id [{model}]");
        (await service.PostAsync("/_ml/trained_models/no-such-deployment/deployment/cache/_clear"))
            .AssertError(404, "resource_not_found_exception", "No known model deployment with id [no-such-deployment]");
    }

    [Fact]
    public async Task Alias_moves_under_load_lose_no_request()
    {
        var first = await service.UploadModelAsync("left");
        var second = await service.UploadModelAsync("right");
        (await service.StartAsync(first)).AssertOk();
        (await service.StartAsync(second)).AssertOk();
        var alias = "swapped-" + Guid.NewGuid().ToString("N")[..6] + "x";
        (await service.PutAsync($"/_ml/trained_models/{first}/model_aliases/{alias}")).AssertOk();

        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        var served = 0;
        var moving = true;
        var load = Enumerable.Range(0, 4).Select(c => Task.Run(async () =>
        {
            var doc = TensorDoc(RandomRow(c), 1, 64);
            while (Volatile.Read(ref moving) && !stop.IsCancellationRequested)
            {
                var response = await InferAsync(alias, doc);
                if (response.Status == HttpStatusCode.OK) Interlocked.Increment(ref served);
                else failures.Add(response.Text);
            }
        })).ToArray();

        for (var move = 0; move < 100; move++)
        {
            var target = move % 2 == 0 ? second : first;
            (await service.PutAsync($"/_ml/trained_models/{target}/model_aliases/{alias}?reassign=true")).AssertOk();
        }
        Volatile.Write(ref moving, false);
        await Task.WhenAll(load);

        Assert.True(failures.IsEmpty, string.Join("\n", failures.Take(3)));
        Assert.True(served > 0);
        (await service.StopAsync(first, "force=true")).AssertOk();
        (await service.StopAsync(second, "force=true")).AssertOk();
    }

    [Fact]
    public async Task A_published_model_is_served_through_the_tensor_form_and_matches_onnx_runtime()
    {
        var bytes = PublishedModels.PublishedModels.PaddleOcrClassifier();
        var model = await service.UploadModelAsync("paddleocr", bytes);
        (await service.StartAsync(model)).AssertOk();
        var shape = PublishedModels.PublishedModels.InputShape(1);
        var image = PublishedModels.PublishedModels.SampleInput(1, seed: 4);

        var result = (await InferAsync(model, TensorDoc(image, shape))).AssertOk().Body["inference_results"]![0]!;
        var output = result["tensors"]![PublishedModels.PublishedModels.PaddleOcrClassifierOutputName]!;
        Assert.Equal("[1,2]", output["shape"]!.ToJsonString());

        using var direct = new OnnxSession(bytes);
        var expected = direct.Run([OnnxInput.Create(PublishedModels.PublishedModels.PaddleOcrClassifierInputName, image, shape)])[0].GetData<float>();
        var actual = Floats(output["data"]!);
        for (var i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 1e-5f);
        (await service.StopAsync(model)).AssertOk();
    }
}
