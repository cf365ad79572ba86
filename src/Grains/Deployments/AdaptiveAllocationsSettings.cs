using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using TrainedModelsOrleans.Grains.Models.Parsing;

namespace TrainedModelsOrleans.Grains.Deployments;

/// <summary>
/// ES's AdaptiveAllocationsSettings ([new], CORE/inference/assignment/AdaptiveAllocationsSettings.java):
/// parsed, validated, merged and stored in the assignment, where the coordinator's scaler
/// (<see cref="Scaling.AdaptiveAllocationsScalers"/>) acts on them. A count of -1 means "unset" in a request.
/// </summary>
public sealed record AdaptiveAllocationsSettings
{
    public const string ParserName = "autoscaling_settings";

    [JsonPropertyName("enabled")]
    public bool? Enabled { get; init; }

    [JsonPropertyName("min_number_of_allocations")]
    public int? MinNumberOfAllocations { get; init; }

    [JsonPropertyName("max_number_of_allocations")]
    public int? MaxNumberOfAllocations { get; init; }

    [JsonIgnore]
    public bool IsEnabled => Enabled == true;

    public static AdaptiveAllocationsSettings? From(AdaptiveAllocations? given) => given is null ? null : new()
    {
        Enabled = given.Enabled, MinNumberOfAllocations = given.MinNumberOfAllocations, MaxNumberOfAllocations = given.MaxNumberOfAllocations,
    };

    public AdaptiveAllocations ToContract() => new()
    {
        Enabled = Enabled, MinNumberOfAllocations = MinNumberOfAllocations, MaxNumberOfAllocations = MaxNumberOfAllocations,
    };

    /// <summary>As the assignment stores them: a count given as -1 (null in the request) is unset.</summary>
    public AdaptiveAllocations ToStored() => new()
    {
        Enabled = Enabled,
        MinNumberOfAllocations = MinNumberOfAllocations is -1 ? null : MinNumberOfAllocations,
        MaxNumberOfAllocations = MaxNumberOfAllocations is -1 ? null : MaxNumberOfAllocations,
    };

    /// <summary>ES's validate(), in its order.</summary>
    public IReadOnlyList<string> ValidationErrors()
    {
        var errors = new List<string>();
        var hasMin = MinNumberOfAllocations is { } min && min != -1;
        var hasMax = MaxNumberOfAllocations is { } max && max != -1;
        if (hasMin && MinNumberOfAllocations < 0)
            errors.Add("[min_number_of_allocations] must be a non-negative integer or null");
        if (hasMax && MaxNumberOfAllocations < 1)
            errors.Add("[max_number_of_allocations] must be a positive integer or null");
        if (hasMin && hasMax && MinNumberOfAllocations > MaxNumberOfAllocations)
            errors.Add("[min_number_of_allocations] must not be larger than [max_number_of_allocations]");
        return errors;
    }

    /// <summary>ES's merge: given values replace these; -1 clears a count.</summary>
    public AdaptiveAllocationsSettings Merge(AdaptiveAllocationsSettings updates) => new()
    {
        Enabled = updates.Enabled ?? Enabled,
        MinNumberOfAllocations = updates.MinNumberOfAllocations switch { null => MinNumberOfAllocations, -1 => null, var v => v },
        MaxNumberOfAllocations = updates.MaxNumberOfAllocations switch { null => MaxNumberOfAllocations, -1 => null, var v => v },
    };

    /// <summary>ES's toXContent: <c>enabled</c> always (false when unset), the counts when set.</summary>
    public JsonObject ToJson()
    {
        var json = new JsonObject { ["enabled"] = Enabled ?? false };
        if (MinNumberOfAllocations is { } min) json["min_number_of_allocations"] = min;
        if (MaxNumberOfAllocations is { } max) json["max_number_of_allocations"] = max;
        return json;
    }

    /// <summary>The <c>adaptive_allocations</c> object of a request body (declareBoolean, declareIntOrNull with -1 for null).</summary>
    internal static AdaptiveAllocationsSettings Parse(JsonBody body, JsonItem item)
    {
        bool? enabled = null;
        int? min = null, max = null;
        new ObjectParser(ParserName)
            .Declare("enabled", Accepts.Boolean, v => enabled = Values.Boolean(v))
            .Declare("min_number_of_allocations", Accepts.Int | Accepts.NullToken, v => min = v.Kind == JsonKind.Null ? -1 : Values.Int(v))
            .Declare("max_number_of_allocations", Accepts.Int | Accepts.NullToken, v => max = v.Kind == JsonKind.Null ? -1 : Values.Int(v))
            .Parse(body, item);
        return new AdaptiveAllocationsSettings { Enabled = enabled, MinNumberOfAllocations = min, MaxNumberOfAllocations = max };
    }

    /// <summary>The checks of number_of_allocations that start and update share, in ES's order.</summary>
    public static IEnumerable<string> NumberOfAllocationsErrors(int? numberOfAllocations, AdaptiveAllocationsSettings? adaptive)
    {
        if (numberOfAllocations is not { } allocations) yield break;
        if (allocations < 1) yield return "[number_of_allocations] must be a positive integer";
        if (adaptive?.IsEnabled == true) yield return "[number_of_allocations] cannot be set if adaptive allocations is enabled";
    }
}
