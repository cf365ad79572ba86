using TrainedModelsOrleans.Grains.Errors;

namespace TrainedModelsOrleans.Grains.Pipelines;

/// <summary>
/// ES's ConfigurationUtils.newConfigurationException: a 400 <c>parse_exception</c> whose reason is
/// <c>[property] reason</c>, carrying the metadata ES prints next to the reason in the error body
/// (<c>"processor_type"</c>, <c>"processor_tag"</c>, <c>"property_name"</c>; <see cref="Metadata"/> in that order).
/// </summary>
public sealed class IngestConfigurationException(string reason, string? processorType, string? processorTag, string? propertyName)
    : ElasticsearchException(400, "parse_exception", reason)
{
    public string? ProcessorType { get; } = processorType;
    public string? ProcessorTag { get; } = processorTag;
    public string? PropertyName { get; } = propertyName;

    /// <summary>The extra fields of the error body, as ES names them (without the <c>es.</c> prefix).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Metadata =>
        new[] { ("processor_type", ProcessorType), ("processor_tag", ProcessorTag), ("property_name", PropertyName) }
            .Where(m => m.Item2 is not null)
            .Select(m => KeyValuePair.Create(m.Item1, m.Item2!))
            .ToList();

    /// <summary><c>[property] reason</c>, or the reason alone without a property.</summary>
    public static IngestConfigurationException Create(string? processorType, string? processorTag, string? propertyName, string reason) =>
        new(propertyName is null ? reason : $"[{propertyName}] {reason}", processorType, processorTag, propertyName);
}
