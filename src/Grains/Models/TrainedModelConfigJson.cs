using System.IO.Compression;
using System.Text;
using System.Text.Json.Nodes;

namespace TrainedModelsOrleans.Grains.Models;

/// <summary>
/// Renders a stored <see cref="TrainedModelConfig"/> as GET _ml/trained_models returns it
/// (TrainedModelConfig.toXContent): ES's field order, <c>fully_defined</c> only with
/// include=definition_status, the generated fields left out with exclude_generated, the definition
/// with include=definition. Our internal <c>task_type</c> is not rendered; <c>onnx</c> is, as an extra field, and so is
/// <c>definition_parts</c> (with include=definition_status, while a model uploaded in parts is incomplete: which parts
/// are stored, so an uploader can resume).
/// </summary>
public static class TrainedModelConfigJson
{
    public static JsonObject Render(TrainedModelConfig config, GetTrainedModelsSettings? request = null, JsonObject? definition = null,
        DefinitionProgress? progress = null)
    {
        var includes = request?.Includes ?? new HashSet<string>();
        var json = new JsonObject { ["model_id"] = config.ModelId, ["model_type"] = config.ModelType };
        if (request?.ExcludeGenerated != true)
        {
            json["created_by"] = config.CreatedBy;
            json["version"] = config.Version;
            json["create_time"] = config.CreateTime;
            json["model_size_bytes"] = config.ModelSizeBytes;
            json["estimated_operations"] = config.EstimatedOperations;
            json["license_level"] = config.LicenseLevel;
        }
        if (config.Description is not null) json["description"] = config.Description;
        if (definition is not null && includes.Contains(GetTrainedModelsSettings.IncludeDefinition))
        {
            if (request?.DecompressDefinition != false) json["definition"] = definition.DeepClone();
            else json["compressed_definition"] = Compress(definition);
        }
        json["tags"] = new JsonArray(config.Tags.Select(t => (JsonNode?)t).ToArray());
        if (config.Metadata is not null) json["metadata"] = config.Metadata.DeepClone();
        json["input"] = new JsonObject { ["field_names"] = new JsonArray(config.Input.FieldNames.Select(f => (JsonNode?)f).ToArray()) };
        if (config.DefaultFieldMap is { Count: > 0 } map)
            json["default_field_map"] = new JsonObject(map.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)p.Value)));
        json["inference_config"] = config.InferenceConfig.DeepClone();
        if (config.Location is not null)
            json["location"] = new JsonObject { ["index"] = new JsonObject { ["name"] = config.Location.Index.Name } };
        if (includes.Contains(GetTrainedModelsSettings.IncludeDefinitionStatus))
        {
            json["fully_defined"] = config.FullyDefined;
            if (progress is not null) json["definition_parts"] = DefinitionParts(progress);
        }
        if (config.PlatformArchitecture is not null) json["platform_architecture"] = config.PlatformArchitecture;
        if (config.PrefixStrings is { } prefixes)
        {
            var p = new JsonObject();
            if (prefixes.Ingest is not null) p["ingest"] = prefixes.Ingest;
            if (prefixes.Search is not null) p["search"] = prefixes.Search;
            json["prefix_strings"] = p;
        }
        if (config.Onnx is { } onnx)
        {
            json["onnx"] = new JsonObject
            {
                ["inputs"] = Tensors(onnx.Inputs),
                ["outputs"] = Tensors(onnx.Outputs),
            };
        }
        return json;
    }

    private static JsonObject DefinitionParts(DefinitionProgress progress) => new()
    {
        ["total_parts"] = progress.TotalParts,
        ["total_definition_length"] = progress.TotalDefinitionLength,
        ["stored_parts"] = new JsonArray(progress.PartLengths.Keys.Order().Select(p => (JsonNode?)p).ToArray()),
    };

    private static JsonArray Tensors(IReadOnlyList<OnnxTensorInfo> tensors) => new(tensors.Select(t => (JsonNode?)new JsonObject
    {
        ["name"] = t.Name,
        ["element_type"] = t.ElementType,
        ["shape"] = new JsonArray(t.Shape.Select(d => (JsonNode?)d).ToArray()),
    }).ToArray());

    /// <summary>ES's compressed_definition: base64 of the gzip-compressed definition JSON.</summary>
    public static string Compress(JsonObject definition)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Optimal, leaveOpen: true))
            gzip.Write(Encoding.UTF8.GetBytes(definition.ToJsonString()));
        return Convert.ToBase64String(buffer.ToArray());
    }
}
