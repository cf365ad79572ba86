using System.Globalization;
using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Deployments;

namespace TrainedModelsOrleans.Grains.Ingest;

/// <summary>
/// A document going through a pipeline, as ES's IngestDocument holds it: one map with the source fields and the
/// metadata fields (<c>_index</c>, <c>_id</c>, <c>_version</c>, …) side by side, and the ingest metadata
/// (<c>_ingest.timestamp</c>, the on_failure fields). Paths are dotted; <c>_source.</c> is the source,
/// <c>_ingest.</c> the ingest metadata; a path element over a list is an index. Error texts are ES's.
/// </summary>
public sealed class IngestDocument(JsonObject sourceAndMetadata, JsonObject ingestMetadata)
{
    /// <summary>The metadata fields, in the order ES's Metadata enum lists them (and renders them).</summary>
    public static readonly IReadOnlyList<string> MetadataFields =
        ["_index", "_id", "_routing", "_version", "_version_type", "_if_seq_no", "_if_primary_term", "_dynamic_templates"];

    private const string IngestPrefix = "_ingest.";
    private const string SourcePrefix = "_source.";

    public JsonObject SourceAndMetadata { get; } = sourceAndMetadata;
    public JsonObject IngestMetadata { get; } = ingestMetadata;

    /// <summary>The value at the path (JSON null included); throws ES's IllegalArgumentException texts when absent.</summary>
    public JsonNode? GetFieldValue(string path)
    {
        var (context, elements) = Parse(path);
        JsonNode? value = context;
        foreach (var element in elements) value = Resolve(element, path, value);
        return value;
    }

    /// <summary>getFieldValue(path, clazz, ignoreMissing): null when missing and ignoreMissing, else as <see cref="GetFieldValue"/>.</summary>
    public JsonNode? GetFieldValue(string path, bool ignoreMissing)
    {
        try
        {
            return GetFieldValue(path);
        }
        catch (ElasticsearchException) when (ignoreMissing && !HasField(path))
        {
            return null;
        }
    }

    public bool HasField(string path, bool failOutOfRange = false)
    {
        var (root, elements) = Parse(path);
        JsonNode? context = root;
        for (var i = 0; i < elements.Length - 1; i++)
        {
            switch (context)
            {
                case JsonObject map:
                    context = map.TryGetPropertyValue(elements[i], out var next) ? next : null;
                    break;
                case JsonArray list:
                    if (!TryIndex(elements[i], out var index)) return false;
                    if (index < 0 || index >= list.Count)
                    {
                        if (failOutOfRange) throw OutOfBounds(index, list.Count, path);
                        return false;
                    }
                    context = list[index];
                    break;
                default:
                    return false;
            }
        }
        var leaf = elements[^1];
        switch (context)
        {
            case JsonObject map:
                return map.ContainsKey(leaf);
            case JsonArray list:
                if (!TryIndex(leaf, out var index)) return false;
                if (index >= 0 && index < list.Count) return true;
                if (failOutOfRange) throw OutOfBounds(index, list.Count, path);
                return false;
            default:
                return false;
        }
    }

    public void RemoveField(string path)
    {
        var (root, elements) = Parse(path);
        JsonNode? context = root;
        for (var i = 0; i < elements.Length - 1; i++) context = Resolve(elements[i], path, context);
        var leaf = elements[^1];
        switch (context)
        {
            case JsonObject map:
                if (!map.Remove(leaf)) throw IngestFailure.IllegalArgument($"field [{leaf}] not present as part of path [{path}]");
                return;
            case JsonArray list:
                var index = Index(leaf, path);
                if (index < 0 || index >= list.Count) throw OutOfBounds(index, list.Count, path);
                list.RemoveAt(index);
                return;
            case null:
                throw IngestFailure.IllegalArgument($"cannot remove [{leaf}] from null as part of path [{path}]");
            default:
                throw IngestFailure.IllegalArgument($"cannot remove [{leaf}] from object of type [{IngestValues.JavaType(context)}] as part of path [{path}]");
        }
    }

    /// <summary>Sets the value, creating missing objects on the way; a list at the leaf is replaced whole.</summary>
    public void SetFieldValue(string path, JsonNode? value) => Set(path, value, append: false, allowDuplicates: true);

    /// <summary>Appends to the list at the path (a scalar there becomes a list; a list value adds each element).</summary>
    public void AppendFieldValue(string path, JsonNode? value, bool allowDuplicates = true) => Set(path, value, append: true, allowDuplicates);

    private void Set(string path, JsonNode? value, bool append, bool allowDuplicates)
    {
        value = Detached(value);
        var (root, elements) = Parse(path);
        JsonNode? context = root;
        for (var i = 0; i < elements.Length - 1; i++)
        {
            var element = elements[i];
            switch (context)
            {
                case null:
                    throw IngestFailure.IllegalArgument($"cannot resolve [{element}] from null as part of path [{path}]");
                case JsonObject map:
                    if (map.TryGetPropertyValue(element, out var next)) context = next;
                    else
                    {
                        var created = new JsonObject();
                        map[element] = created;
                        context = created;
                    }
                    break;
                case JsonArray list:
                    var index = Index(element, path);
                    if (index < 0 || index >= list.Count) throw OutOfBounds(index, list.Count, path);
                    context = list[index];
                    break;
                default:
                    throw IngestFailure.IllegalArgument(
                        $"cannot resolve [{element}] from object of type [{IngestValues.JavaType(context)}] as part of path [{path}]");
            }
        }

        var leaf = elements[^1];
        switch (context)
        {
            case null:
                throw IngestFailure.IllegalArgument($"cannot set [{leaf}] with null parent as part of path [{path}]");
            case JsonObject map:
                if (!append)
                {
                    map[leaf] = value;
                }
                else if (map.TryGetPropertyValue(leaf, out var existing))
                {
                    var appended = AppendValues(existing, value, allowDuplicates);
                    if (!ReferenceEquals(appended, existing)) map[leaf] = appended;
                }
                else
                {
                    var list = new JsonArray();
                    AppendAll(list, value);
                    map[leaf] = list;
                }
                return;
            case JsonArray array:
                var index = Index(leaf, path);
                if (index < 0 || index >= array.Count) throw OutOfBounds(index, array.Count, path);
                if (!append)
                {
                    array[index] = value;
                    return;
                }
                var current = array[index];
                var result = AppendValues(current, value, allowDuplicates);
                if (!ReferenceEquals(result, current)) array[index] = result;
                return;
            default:
                throw IngestFailure.IllegalArgument(
                    $"cannot set [{leaf}] with parent object of type [{IngestValues.JavaType(context)}] as part of path [{path}]");
        }
    }

    // appendValues: a list grows in place; a scalar becomes [scalar, values…]. Without duplicates and nothing new, the field stays as it was.
    private static JsonNode? AppendValues(JsonNode? maybeList, JsonNode? value, bool allowDuplicates)
    {
        var list = maybeList as JsonArray;
        if (list is null)
        {
            list = new JsonArray();
            list.Add(maybeList?.DeepClone());
        }
        if (allowDuplicates)
        {
            AppendAll(list, value);
            return list;
        }
        var added = false;
        foreach (var item in value is JsonArray values ? values.ToList() : [value])
        {
            if (list.Any(e => JsonNode.DeepEquals(e, item))) continue;
            list.Add(Detached(item));
            added = true;
        }
        return added ? list : maybeList;
    }

    private static void AppendAll(JsonArray list, JsonNode? value)
    {
        if (value is JsonArray values)
            foreach (var item in values.ToList()) list.Add(Detached(item));
        else list.Add(value);
    }

    /// <summary>A node that may be put in the document: itself when it has no parent, else a copy.</summary>
    internal static JsonNode? Detached(JsonNode? value) => value is null || value.Parent is null ? value : value.DeepClone();

    private static JsonNode? Resolve(string element, string path, JsonNode? context) => context switch
    {
        null => throw IngestFailure.IllegalArgument($"cannot resolve [{element}] from null as part of path [{path}]"),
        JsonObject map => map.TryGetPropertyValue(element, out var value)
            ? value
            : throw IngestFailure.IllegalArgument($"field [{element}] not present as part of path [{path}]"),
        JsonArray list => ElementAt(list, element, path),
        _ => throw IngestFailure.IllegalArgument(
            $"cannot resolve [{element}] from object of type [{IngestValues.JavaType(context)}] as part of path [{path}]"),
    };

    private static JsonNode? ElementAt(JsonArray list, string element, string path)
    {
        var index = Index(element, path);
        return index >= 0 && index < list.Count ? list[index] : throw OutOfBounds(index, list.Count, path);
    }

    private static bool TryIndex(string element, out int index) =>
        JavaNumbers.TryParseInt(element, out index);

    private static int Index(string element, string path) =>
        TryIndex(element, out var index)
            ? index
            : throw IngestFailure.IllegalArgument($"[{element}] is not an integer, cannot be used as an index as part of path [{path}]");

    private static ElasticsearchException OutOfBounds(int index, int length, string path) =>
        IngestFailure.IllegalArgument($"[{index}] is out of bounds for array with length [{length}] as part of path [{path}]");

    // FieldPath: _ingest. and _source. prefixes, then Java's split on '.' (trailing empty elements dropped).
    private (JsonObject Root, string[] Elements) Parse(string path)
    {
        if (string.IsNullOrEmpty(path)) throw IngestFailure.IllegalArgument("path cannot be null nor empty");
        JsonObject root;
        string rest;
        if (path.StartsWith(IngestPrefix, StringComparison.Ordinal)) (root, rest) = (IngestMetadata, path[IngestPrefix.Length..]);
        else (root, rest) = (SourceAndMetadata, path.StartsWith(SourcePrefix, StringComparison.Ordinal) ? path[SourcePrefix.Length..] : path);
        var elements = rest.Split('.');
        var count = elements.Length;
        while (count > 0 && elements[count - 1].Length == 0) count--;
        if (count == 0 || (count == 1 && elements[0].Length == 0)) throw IngestFailure.IllegalArgument($"path [{path}] is not valid");
        return (root, count == elements.Length ? elements : elements[..count]);
    }
}
