using System.Text.Json.Nodes;

namespace TrainedModelsOrleans.Cli.Service;

/// <summary>One HTTP answer of the service: its status and its JSON body (null when the body is not JSON).</summary>
public sealed record ServiceAnswer(int Status, JsonNode? Body, string Text)
{
    public bool IsSuccess => Status is >= 200 and < 300;

    /// <summary>Elasticsearch's <c>error.type</c>, when the body is its error shape.</summary>
    public string? ErrorType => (Body as JsonObject)?["error"] is JsonObject error ? error["type"]?.GetValue<string>() : null;

    /// <summary>
    /// Elasticsearch's <c>error.reason</c>; the bare <c>error</c> string of its 406 shape; else the body as text,
    /// so a refusal always says something.
    /// </summary>
    public string Reason => (Body as JsonObject)?["error"] switch
    {
        JsonObject error when error["reason"] is JsonValue reason => reason.GetValue<string>(),
        JsonValue text => text.ToString(),
        _ => Text.Length > 0 ? Text : $"HTTP {Status}",
    };
}
