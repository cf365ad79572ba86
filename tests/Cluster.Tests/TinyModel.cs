using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Serving;
using TrainedModelsOrleans.TestModels;
using TrainedModelsOrleans.TestSupport;
using Xunit;

namespace TrainedModelsOrleans.Cluster.Tests;

/// <summary>The tiny MLP (<see cref="TestOnnxModels.Mlp"/>: "input" [batch, 64] → "probs" [batch, 8]) as the cluster tests use it.</summary>
internal static class TinyModel
{
    public static readonly byte[] Definition = TestOnnxModels.Mlp();

    public static float[] Row(int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, 64).Select(_ => (float)random.NextDouble()).ToArray();
    }

    public static async Task<string> UploadAsync(HttpClient http, string prefix = "tiny")
    {
        var id = MlApi.NewId(prefix);
        await http.UploadOnnxModelAsync(id, Definition);
        return id;
    }

    /// <summary>POST _infer with one tensor doc per row.</summary>
    public static Task<Response> InferAsync(HttpClient http, string id, params float[][] rows) => InferAsync(http, id, rows, CancellationToken.None);

    public static Task<Response> InferAsync(HttpClient http, string id, float[][] rows, CancellationToken cancellationToken) =>
        http.SendJsonAsync(HttpMethod.Post, $"/_ml/trained_models/{id}/_infer", new JsonObject
        {
            ["docs"] = new JsonArray(rows.Select(row => (JsonNode?)new JsonObject
            {
                ["tensor"] = new JsonObject
                {
                    ["shape"] = new JsonArray(1, 64),
                    ["data"] = new JsonArray(row.Select(v => (JsonNode?)v).ToArray()),
                },
            }).ToArray()),
        }, cancellationToken: cancellationToken);

    /// <summary>Asserts that an _infer answer holds, per row, what the reference computes.</summary>
    public static void AssertInferResults(Response response, float[][] rows)
    {
        var results = response.AssertOk().Body["inference_results"]!.AsArray();
        Assert.Equal(rows.Length, results.Count);
        for (var i = 0; i < rows.Length; i++)
            AssertReference(rows[i], results[i]!["tensors"]!["probs"]!["data"]!.AsArray().Select(v => v!.GetValue<float>()).ToArray());
    }

    /// <summary>The SDK's tensor form of the rows: one doc each.</summary>
    public static InferenceTensor[][] Docs(params float[][] rows) => rows.Select(r => new[] { InferenceTensor.Of("input", r, 1, 64) }).ToArray();

    /// <summary>Asserts that the SDK's answer holds, per row, what the reference computes.</summary>
    public static void AssertTensorResults(InferenceTensor[][] outputs, float[][] rows)
    {
        Assert.Equal(rows.Length, outputs.Length);
        for (var i = 0; i < rows.Length; i++)
        {
            var probs = Assert.Single(outputs[i], t => t.Name == "probs");
            Assert.Equal([1L, 8L], probs.Shape);
            AssertReference(rows[i], (float[])probs.Data);
        }
    }

    private static void AssertReference(float[] row, float[] actual)
    {
        var expected = TestOnnxModels.MlpReference(row, 1);
        Assert.Equal(expected.Length, actual.Length);
        for (var j = 0; j < expected.Length; j++) Assert.Equal(expected[j], actual[j], 1e-5f);
    }
}
