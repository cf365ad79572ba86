using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Ingest;

namespace TrainedModelsOrleans.ControlPlaneRules.Tests.Ingest;

/// <summary>Runs an inline pipeline over docs the way POST _ingest/pipeline/_simulate does, with a scripted model.</summary>
internal static class Simulation
{
    public static async Task<JsonObject> RunAsync(string pipeline, string docs, bool verbose = false, IPipelineInference? inference = null)
    {
        var body = $$"""{"pipeline": {{pipeline}}, "docs": {{docs}}}""";
        var request = SimulateRequest.Parse(Encoding.UTF8.GetBytes(body), storedPipeline: false, DateTimeOffset.UnixEpoch);
        var compiled = PipelineCompiler.Compile(SimulateRequest.SimulatedPipelineId, request.Pipeline!);
        return await PipelineSimulation.RunAsync(compiled, request.Documents, verbose, inference ?? new ScriptedModel(), CancellationToken.None);
    }

    /// <summary>The <c>_source</c> of the first document's answer.</summary>
    public static async Task<JsonNode> SourceAsync(string pipeline, string source, IPipelineInference? inference = null)
    {
        var answer = await RunAsync(pipeline, $$"""[{"_source": {{source}}}]""", inference: inference);
        var doc = answer["docs"]![0]!;
        Xunit.Assert.True(doc["doc"] is not null, $"expected a doc, got {doc.ToJsonString()}");
        return doc["doc"]!["_source"]!;
    }

    /// <summary>The first document's error.</summary>
    public static async Task<JsonNode> ErrorAsync(string pipeline, string source)
    {
        var answer = await RunAsync(pipeline, $$"""[{"_source": {{source}}}]""");
        var doc = answer["docs"]![0]!;
        Xunit.Assert.True(doc["error"] is not null, $"expected an error, got {doc.ToJsonString()}");
        return doc["error"]!;
    }

    private static readonly JsonSerializerOptions Readable = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static string Json(JsonNode? node) => node?.ToJsonString(Readable) ?? "null";
}

/// <summary>
/// A model for the runner: answers each document with <c>{"predicted_value": &lt;its "text" or "text_field"&gt;}</c>,
/// records every call, and fails as told (a whole call with <see cref="CallError"/>, or documents whose text is "bad").
/// </summary>
internal sealed class ScriptedModel : IPipelineInference
{
    public List<(string ModelId, List<JsonObject> Documents, JsonObject? Config, bool TextInput)> Calls { get; } = [];

    public ElasticsearchException? CallError { get; init; }

    public string ResolvedId { get; init; } = "resolved-model";

    public Task<PipelineInferenceResult> InferAsync(string modelId, IReadOnlyList<JsonObject> documents, JsonObject? inferenceConfig, bool textInput,
        CancellationToken cancellationToken)
    {
        Calls.Add((modelId, documents.Select(d => (JsonObject)d.DeepClone()).ToList(), inferenceConfig, textInput));
        if (CallError is not null) throw CallError;
        var texts = documents.Select(d => d[textInput ? "text_field" : "text"]?.ToString()).ToList();
        if (texts.Contains("bad")) throw new ElasticsearchException(400, "status_exception", "Input value [bad] is refused");
        return Task.FromResult(new PipelineInferenceResult(ResolvedId,
            texts.Select(t => new JsonObject { ["predicted_value"] = t, ["prediction_probability"] = 0.5 }).ToList()));
    }
}
