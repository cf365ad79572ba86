using System.Text.Json.Nodes;
using TrainedModelsOrleans.TestModels;
using Xunit;

namespace TrainedModelsOrleans.Api.Tests;

public sealed class TextInferenceTests(ServiceFixture service) : IClassFixture<ServiceFixture>
{
    private static readonly string[] Labels = ["a", "b", "c", "d", "e", "f", "g", "h"];

    /// <summary>1000 entries to match the test text model: specials, two words, then fillers.</summary>
    private static JsonArray Vocabulary() =>
        new(new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world" }
            .Concat(Enumerable.Range(7, 993).Select(i => $"w{i}")).Select(t => (JsonNode?)t).ToArray());

    private async Task<string> UploadTextModelAsync(string task, JsonObject? taskConfig = null, bool vocabulary = true)
    {
        var id = Deployments.NewId(task.Replace('_', '-'));
        var config = ModelUploads.OnnxConfig(task: task);
        config["inference_config"] = new JsonObject { [task] = taskConfig ?? new JsonObject() };
        (await service.PutAsync($"/_ml/trained_models/{id}", config)).AssertOk();
        var part = ModelUploads.Parts(TestOnnxModels.Text(attentionMask: true), 1)[0];
        (await service.PutAsync($"/_ml/trained_models/{id}/definition/0", part)).AssertOk();
        if (vocabulary) (await service.PutAsync($"/_ml/trained_models/{id}/vocabulary", new JsonObject { ["vocabulary"] = Vocabulary() })).AssertOk();
        (await service.StartAsync(id)).AssertOk();
        return id;
    }

    private Task<Response> InferAsync(string id, params string[] texts) =>
        service.PostAsync($"/_ml/trained_models/{id}/_infer", new JsonObject
        {
            ["docs"] = new JsonArray(texts.Select(t => (JsonNode?)new JsonObject { ["input"] = t }).ToArray()),
        });

    /// <summary>What the model computes for "[CLS] hello world [SEP]".</summary>
    private static float[] Reference() => TestOnnxModels.TextReference([2, 5, 6, 3], [1, 1, 1, 1], batch: 1, sequence: 4);

    [Fact]
    public async Task Pass_through_tokenizes_with_wordpiece_and_returns_the_raw_output()
    {
        var model = await UploadTextModelAsync("pass_through");
        var result = (await InferAsync(model, "hello world")).AssertOk().Body["inference_results"]![0]!; // ES: do_lower_case defaults to false
        var expected = Reference();
        var actual = result["predicted_value"]![0]!.AsArray().Select(v => v!.GetValue<float>()).ToArray();
        for (var i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 1e-5f);
        (await service.StopAsync(model)).AssertOk();
    }

    [Fact]
    public async Task Text_classification_returns_labels_top_classes_and_probability()
    {
        var model = await UploadTextModelAsync("text_classification", new JsonObject
        {
            ["classification_labels"] = new JsonArray(Labels.Select(l => (JsonNode?)l).ToArray()),
            ["num_top_classes"] = 2,
        });
        var results = (await InferAsync(model, "hello world", "world hello")).AssertOk().Body["inference_results"]!;
        Assert.Equal(2, results.AsArray().Count);

        var reference = Reference();
        var best = Labels[Array.IndexOf(reference, reference.Max())];
        var first = results[0]!;
        Assert.Equal(best, first["predicted_value"]!.GetValue<string>());
        Assert.Equal(2, first["top_classes"]!.AsArray().Count);
        Assert.Equal(best, first["top_classes"]![0]!["class_name"]!.GetValue<string>());
        Assert.InRange(first["prediction_probability"]!.GetValue<double>(), 0, 1);
        (await service.StopAsync(model)).AssertOk();
    }

    [Fact]
    public async Task Text_inference_errors_name_the_missing_field_and_the_missing_vocabulary()
    {
        var model = await UploadTextModelAsync("text_embedding");
        (await service.PostAsync($"/_ml/trained_models/{model}/_infer", new JsonObject { ["docs"] = new JsonArray(new JsonObject { ["other"] = "x" }) }))
            .AssertError(400, "status_exception", "Input field [input] does not exist in the source document");
        var embedding = (await InferAsync(model, "hello world")).AssertOk().Body["inference_results"]![0]!["predicted_value"]!.AsArray();
        Assert.Equal(8, embedding.Count);
        (await service.StopAsync(model)).AssertOk();

        var bare = await UploadTextModelAsync("pass_through", vocabulary: false);
        (await InferAsync(bare, "hello")).AssertError(409, "status_exception", "has no vocabulary");
        (await service.StopAsync(bare)).AssertOk();
    }
}
