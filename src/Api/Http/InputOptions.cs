using TrainedModelsOrleans.Grains.Models.Parsing;

namespace TrainedModelsOrleans.Api.Http;

/// <summary>
/// What the API accepts from a client before any handler runs (setting section <c>Input</c>), with Elasticsearch's
/// defaults where it has them. Every refusal is a 4xx in Elasticsearch's error shape that names its setting.
/// </summary>
public sealed class InputOptions
{
    public const string Section = "Input";

    /// <summary>JSON objects and arrays inside each other (Elasticsearch: 1,000, Jackson's default).</summary>
    public int MaxNestingDepth { get; set; } = JsonInputLimits.DefaultMaxNestingDepth;

    /// <summary>Characters in one JSON string (Elasticsearch: 50,000,000).</summary>
    public int MaxStringLength { get; set; } = JsonInputLimits.DefaultMaxStringLength;

    /// <summary>
    /// Characters in one id or id expression in a path (a model, deployment, alias or pipeline id, or a comma list of
    /// them). Ids that are created stay under Elasticsearch's 64; this bounds what is looked up, and keeps any id
    /// well under PostgreSQL's 2,704-byte index entry even at 4 bytes a character.
    /// </summary>
    public int MaxIdLength { get; set; } = 512;

    /// <summary>The request line: method, path, query and protocol (Elasticsearch's http.max_initial_line_length, 4kb).</summary>
    public int MaxInitialLineLength { get; set; } = 4 * 1024;

    /// <summary>All request headers together (Elasticsearch's http.max_header_size, 16kb).</summary>
    public int MaxHeaderSize { get; set; } = 16 * 1024;

    /// <summary>
    /// Kestrel's own ceilings, above which it answers 414 and 431 itself with no body; they sit well above the limits
    /// above so that a request over those gets Elasticsearch's error body from the middleware.
    /// </summary>
    public int KestrelRequestLineCeiling => Math.Max(64 * 1024, 2 * MaxInitialLineLength);

    public int KestrelHeadersCeiling => Math.Max(64 * 1024, 2 * MaxHeaderSize);

    /// <summary>An idle keep-alive connection is closed after this (Kestrel's default is 130 s; Elasticsearch keeps none open for idlers).</summary>
    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>All headers of a request must arrive within this (Kestrel's default is 30 s; a slow-header client holds a connection no longer).</summary>
    public TimeSpan RequestHeadersTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>A body that arrives slower than this, after a grace period, is dropped (Kestrel: 240 bytes/s, 5 s grace).</summary>
    public double MinRequestBodyBytesPerSecond { get; set; } = 1024;

    public TimeSpan MinRequestBodyGracePeriod { get; set; } = TimeSpan.FromSeconds(10);

    public JsonInputLimits JsonLimits => new() { MaxNestingDepth = MaxNestingDepth, MaxStringLength = MaxStringLength };

    /// <summary>The settings that make no sense, each named; empty when all are usable.</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (MaxNestingDepth < 16) problems.Add($"{Section}:MaxNestingDepth must be at least 16 (the API's own bodies nest that deep)");
        if (MaxStringLength < 1024) problems.Add($"{Section}:MaxStringLength must be at least 1024");
        if (MaxIdLength < 64) problems.Add($"{Section}:MaxIdLength must be at least 64 (Elasticsearch's id length)");
        if (MaxInitialLineLength < 1024) problems.Add($"{Section}:MaxInitialLineLength must be at least 1024");
        if (MaxHeaderSize < 1024) problems.Add($"{Section}:MaxHeaderSize must be at least 1024");
        if (KeepAliveTimeout <= TimeSpan.Zero || RequestHeadersTimeout <= TimeSpan.Zero || MinRequestBodyGracePeriod <= TimeSpan.Zero)
            problems.Add($"{Section}: timeouts must be positive");
        if (MinRequestBodyBytesPerSecond <= 0) problems.Add($"{Section}:MinRequestBodyBytesPerSecond must be positive");
        return problems;
    }
}
