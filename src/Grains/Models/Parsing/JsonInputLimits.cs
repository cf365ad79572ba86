namespace TrainedModelsOrleans.Grains.Models.Parsing;

/// <summary>
/// How deep and how long the JSON of a request may be (setting section <c>Input</c>). The defaults are Elasticsearch's:
/// its XContent parser keeps Jackson's nesting depth of 1,000 and allows strings of 50,000,000 characters.
/// </summary>
public sealed record JsonInputLimits
{
    public const int DefaultMaxNestingDepth = 1000;
    public const int DefaultMaxStringLength = 50_000_000;

    /// <summary>Objects and arrays inside each other (<c>Input:MaxNestingDepth</c>).</summary>
    public int MaxNestingDepth { get; init; } = DefaultMaxNestingDepth;

    /// <summary>Characters in one string, a field name included (<c>Input:MaxStringLength</c>).</summary>
    public int MaxStringLength { get; init; } = DefaultMaxStringLength;

    public static readonly JsonInputLimits Default = new();
}
