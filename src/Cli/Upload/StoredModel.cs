using System.Text.Json.Nodes;

namespace TrainedModelsOrleans.Cli.Upload;

/// <summary>
/// What the service holds of a model, from <c>GET _ml/trained_models/&lt;id&gt;?include=definition_status</c>:
/// <c>fully_defined</c> (Elasticsearch 8.8+), <c>model_size_bytes</c>, and — this service's extension — the
/// <c>definition_parts</c> stored so far while the definition is incomplete. <see cref="StoredParts"/> is null when the
/// service does not tell (Elasticsearch itself): then every part is sent and "already exists" counts as stored.
/// </summary>
/// <param name="DefinitionSha256">The sha256 of the file the tool uploaded the model from (hex), as it records it in the
/// config's <c>metadata.definition_sha256</c>; null for a model put another way.</param>
public sealed record StoredModel(bool FullyDefined, long ModelSizeBytes, StoredParts? StoredParts, string? DefinitionSha256 = null)
{
    /// <summary>Where the tool records the definition file's sha256 in the model's config.</summary>
    public const string Sha256MetadataKey = "definition_sha256";

    /// <summary>
    /// The model of exactly this id in the GET answer; null when it lists only others (the id is an alias or a wildcard:
    /// GET resolves those, and the PUT that follows gets the service's refusal).
    /// </summary>
    public static StoredModel? FromGetResponse(string modelId, JsonNode body)
    {
        var config = (body["trained_model_configs"] as JsonArray ?? throw new FormatException("the answer lists no trained_model_configs"))
            .OfType<JsonObject>()
            .FirstOrDefault(c => c["model_id"]?.GetValue<string>() == modelId);
        if (config is null) return null;
        var fullyDefined = config["fully_defined"]?.GetValue<bool>() ?? false;
        var size = config["model_size_bytes"]?.GetValue<long>() ?? 0;
        StoredParts? parts = null;
        if (config["definition_parts"] is JsonObject stored)
        {
            parts = new StoredParts(
                stored["total_parts"]?.GetValue<int>() ?? 0,
                stored["total_definition_length"]?.GetValue<long>() ?? 0,
                (stored["stored_parts"] as JsonArray ?? []).Select(p => p!.GetValue<int>()).ToHashSet());
        }
        var sha256 = (config["metadata"] as JsonObject)?[Sha256MetadataKey] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;
        return new StoredModel(fullyDefined, size, parts, sha256);
    }
}

/// <summary>The totals the stored parts were sent with, and their numbers (totals are 0 while none is stored).</summary>
public sealed record StoredParts(int TotalParts, long TotalDefinitionLength, IReadOnlySet<int> Parts);
