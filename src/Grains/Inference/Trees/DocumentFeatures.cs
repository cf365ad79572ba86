using System.Buffers;
using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Models;
using TrainedModelsOrleans.Grains.Models.Parsing;

namespace TrainedModelsOrleans.Grains.Inference.Trees;

/// <summary>
/// Turns a document into the model's feature vector the way ES's LocalModel and InferenceDefinition
/// do: copy <c>default_field_map</c> sources to their targets, keep only the model's input fields
/// (dotted names found flat or nested, MapHelper.dotCollapse), run the preprocessors in order, then
/// read each feature as a double (missing → NaN). Names are resolved to slots once, at creation.
/// </summary>
internal sealed class DocumentFeatures
{
    private readonly FieldPath[] inputs;
    private readonly (FieldPath Source, string Target)[] defaultFieldMap;
    private readonly FeatureEncoder[] encoders;
    private readonly int[] featureSlots;
    private readonly int slotCount;

    private DocumentFeatures(FieldPath[] inputs, (FieldPath, string)[] defaultFieldMap, FeatureEncoder[] encoders, int[] featureSlots, int slotCount)
    {
        this.inputs = inputs;
        this.defaultFieldMap = defaultFieldMap;
        this.encoders = encoders;
        this.featureSlots = featureSlots;
        this.slotCount = slotCount;
    }

    public int FeatureCount => featureSlots.Length;

    public static DocumentFeatures Create(
        IReadOnlyList<string> inputFields,
        IReadOnlyDictionary<string, string>? defaultFieldMap,
        IReadOnlyList<PreProcessor> preprocessors,
        IReadOnlyList<string> featureNames)
    {
        var slots = new Dictionary<string, int>(StringComparer.Ordinal);
        int Slot(string name)
        {
            if (!slots.TryGetValue(name, out var slot)) slots[name] = slot = slots.Count;
            return slot;
        }

        // LocalModel keeps the input field names in a set.
        var inputs = inputFields.Distinct(StringComparer.Ordinal).Select(name => new FieldPath(name, Slot(name))).ToArray();
        var mapped = (defaultFieldMap ?? new Dictionary<string, string>())
            .Select(entry => (new FieldPath(entry.Key, -1), entry.Value))
            .ToArray();
        var encoders = preprocessors.Select(p => FeatureEncoder.Create(p, Slot)).ToArray();
        var featureSlots = featureNames.Select(name => slots.TryGetValue(name, out var slot) ? slot : -1).ToArray();
        return new DocumentFeatures(inputs, mapped, encoders, featureSlots, slots.Count);
    }

    /// <summary>Fills <paramref name="features"/>; false when none of the input fields is in the document (ES's "all fields missing").</summary>
    public bool Extract(JsonObject document, Span<double> features)
    {
        var top = new TopLevel(document, MapDefaultFields(document));
        var values = ArrayPool<object?>.Shared.Rent(slotCount);
        try
        {
            var any = false;
            foreach (var input in inputs)
            {
                var value = input.Dig(top);
                values[input.Slot] = value;
                any |= value is not null;
            }
            if (!any) return false;

            foreach (var encoder in encoders) encoder.Apply(values);
            for (var i = 0; i < featureSlots.Length; i++)
            {
                var slot = featureSlots[i];
                features[i] = slot < 0 ? double.NaN : FeatureValue.ToDouble(values[slot]);
            }
            return true;
        }
        finally
        {
            Array.Clear(values, 0, slotCount);
            ArrayPool<object?>.Shared.Return(values);
        }
    }

    /// <summary>LocalModel.mapFieldsIfNecessary: a target is added only where the document has none.</summary>
    private Dictionary<string, JsonNode>? MapDefaultFields(JsonObject document)
    {
        if (defaultFieldMap.Length == 0) return null;
        Dictionary<string, JsonNode>? added = null;
        foreach (var (source, target) in defaultFieldMap)
        {
            var value = source.Dig(new TopLevel(document, added));
            if (value is null) continue;
            if (new TopLevel(document, added).Get(target) is not null) continue;
            (added ??= new Dictionary<string, JsonNode>(StringComparer.Ordinal))[target] = value;
        }
        return added;
    }

    /// <summary>The document's top level, plus the fields default_field_map added to it.</summary>
    private readonly struct TopLevel(JsonObject document, Dictionary<string, JsonNode>? added)
    {
        public JsonNode? Get(string key) =>
            document.TryGetPropertyValue(key, out var value) && value is not null ? value : added?.GetValueOrDefault(key);
    }

    /// <summary>A field name and where its value lives.</summary>
    private sealed class FieldPath(string name, int slot)
    {
        private readonly string[] parts = name.Split('.');

        public int Slot { get; } = slot;

        /// <summary>
        /// MapHelper.dig: the name as a key of the top level, else every way of splitting it at dots
        /// across nested objects (<c>{"a":{"b.c":1}}</c> holds <c>a.b.c</c>); JSON null is missing.
        /// </summary>
        public JsonNode? Dig(TopLevel top)
        {
            var direct = top.Get(name);
            if (direct is not null || parts.Length == 1) return direct;

            var pending = new Stack<(JsonObject? Map, int Position)>();
            pending.Push((null, 0));
            while (pending.Count > 0)
            {
                var (map, position) = pending.Pop();
                for (var end = position + 1; end <= parts.Length; end++)
                {
                    var key = end == position + 1 ? parts[position] : string.Join('.', parts, position, end - position);
                    var next = map is null ? top.Get(key) : map.TryGetPropertyValue(key, out var v) ? v : null;
                    if (end == parts.Length && next is not null) return next;
                    if (next is JsonObject nested) pending.Push((nested, end));
                }
            }
            return null;
        }
    }
}

/// <summary>A value a preprocessor wrote: an Integer (one-hot's 0 and 1) or a Double (the encoders' maps).</summary>
internal sealed class EncodedNumber(double value, bool isInteger)
{
    public static readonly EncodedNumber Zero = new(0, true);
    public static readonly EncodedNumber One = new(1, true);

    public double Value { get; } = value;

    public override string ToString() => isInteger ? ((long)Value).ToString(System.Globalization.CultureInfo.InvariantCulture) : JavaValues.DoubleToString(Value);
}

/// <summary>What a field holds while a document is processed: a JSON value from the document or an encoder's number.</summary>
internal static class FeatureValue
{
    public static double ToDouble(object? value) => value switch
    {
        EncodedNumber n => n.Value,
        JsonNode node => JavaValues.ToDouble(node),
        _ => double.NaN,
    };

    /// <summary><c>value.toString()</c>, the key the encoders look up.</summary>
    public static string ToJavaString(object value) => value is JsonNode node ? JavaValues.ToJavaString(node) : value.ToString()!;
}

/// <summary>
/// ES's preprocessors (core/ml/inference/preprocessing): each reads one field of the collapsed
/// document and writes numeric features. one_hot_encoding, target_mean_encoding and
/// frequency_encoding are evaluated; the others are refused when the evaluator is created.
/// </summary>
internal abstract class FeatureEncoder
{
    public abstract void Apply(object?[] values);

    public static FeatureEncoder Create(PreProcessor preprocessor, Func<string, int> slot) => preprocessor switch
    {
        OneHotEncoding p => new OneHot(slot(p.Field),
            // ES keeps the hot map in a TreeMap: columns are written in key order, so a later key wins a shared column.
            p.HotMap.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => (e.Key, slot(e.Value))).ToArray()),
        TargetMeanEncoding p => new Lookup(slot(p.Field), slot(p.FeatureName), Boxed(p.TargetMap), new EncodedNumber(p.DefaultValue, false)),
        FrequencyEncoding p => new Lookup(slot(p.Field), slot(p.FeatureName), Boxed(p.FrequencyMap), new EncodedNumber(0.0, false)),
        _ => throw EsErrors.BadRequest(
            $"preprocessor [{preprocessor.Name}] is not supported for inference; supported preprocessors are [one_hot_encoding, target_mean_encoding, frequency_encoding]"),
    };

    private static Dictionary<string, EncodedNumber> Boxed(IReadOnlyDictionary<string, double> map) =>
        map.ToDictionary(e => e.Key, e => new EncodedNumber(e.Value, false), StringComparer.Ordinal);

    /// <summary>OneHotEncoding.process: every column is written, 1 for the value's column and 0 for the rest.</summary>
    private sealed class OneHot(int field, (string Value, int Column)[] columns) : FeatureEncoder
    {
        public override void Apply(object?[] values)
        {
            if (values[field] is not { } value) return;
            var text = FeatureValue.ToJavaString(value);
            foreach (var (hot, column) in columns)
                values[column] = text == hot ? EncodedNumber.One : EncodedNumber.Zero;
        }
    }

    /// <summary>TargetMeanEncoding / FrequencyEncoding.process: the value's entry in the map, else the default.</summary>
    private sealed class Lookup(int field, int feature, Dictionary<string, EncodedNumber> map, EncodedNumber fallback) : FeatureEncoder
    {
        public override void Apply(object?[] values)
        {
            if (values[field] is not { } value) return;
            values[feature] = map.GetValueOrDefault(FeatureValue.ToJavaString(value), fallback);
        }
    }
}
