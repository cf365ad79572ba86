using System.Globalization;
using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Models.Parsing;
using TrainedModelsOrleans.Grains.ModelStore;

namespace TrainedModelsOrleans.Grains.Models;

/// <summary>One page of GET _ml/trained_models: the ids on the page, and <c>count</c>, every model that matched.</summary>
public sealed record TrainedModelsPage(IReadOnlyList<string> ModelIds, long Count);

/// <summary>
/// GET _ml/trained_models[/&lt;ids&gt;] parameters, read as RestGetTrainedModelsAction and
/// GetTrainedModelsAction.Request/Includes and PageParams read them, with their defaults
/// (from 0, size 100, allow_no_match true, decompress_definition true).
/// </summary>
public sealed record GetTrainedModelsSettings
{
    public const int DefaultFrom = 0;
    public const int DefaultSize = 100;

    public const string IncludeDefinition = "definition";
    public const string IncludeDefinitionStatus = "definition_status";
    public const string IncludeFeatureImportanceBaseline = "feature_importance_baseline";
    public const string IncludeHyperparameters = "hyperparameters";
    public const string IncludeTotalFeatureImportance = "total_feature_importance";

    /// <summary>GetTrainedModelsAction.Includes.KNOWN_INCLUDES (8.8+ adds definition_status), sorted.</summary>
    public static readonly IReadOnlyList<string> KnownIncludes =
    [
        IncludeDefinition, IncludeDefinitionStatus, IncludeFeatureImportanceBaseline, IncludeHyperparameters, IncludeTotalFeatureImportance,
    ];

    public required ModelIdPattern Ids { get; init; }
    public bool AllowNoMatch { get; init; } = true;
    public int From { get; init; } = DefaultFrom;
    public int Size { get; init; } = DefaultSize;
    public IReadOnlySet<string> Includes { get; init; } = new HashSet<string>();
    public IReadOnlyList<string> Tags { get; init; } = [];
    public bool DecompressDefinition { get; init; } = true;
    public bool ExcludeGenerated { get; init; }

    /// <summary>
    /// Reads the path id and the query string. Throws 400: an include ES does not know
    /// (<c>status_exception</c> "unknown [include] parameters [x]. Valid options are [...]"); a negative
    /// from or size (<c>illegal_argument_exception</c> "Parameter [from] cannot be &lt; 0"); a value that is
    /// not an integer or boolean (<c>illegal_argument_exception</c>, ES's RestRequest texts).
    /// </summary>
    public static GetTrainedModelsSettings Parse(string? modelId, IReadOnlyDictionary<string, string?> query)
    {
        string? Param(string key) => query.TryGetValue(key, out var v) ? v : null;

        var tags = SplitByComma(Param("tags"));
        var includes = SplitByComma(Param("include")).ToHashSet(StringComparer.Ordinal);
        CheckIncludes(includes); // ES's order: the include list before from and size are read
        return Of(new GetTrainedModelsRequest
        {
            ModelId = modelId,
            AllowNoMatch = BoolParam(Param("allow_no_match"), true),
            From = IntParam("from", Param("from"), DefaultFrom),
            Size = IntParam("size", Param("size"), DefaultSize),
            Include = includes.ToArray(),
            Tags = tags,
            DecompressDefinition = BoolParam(Param("decompress_definition"), true),
            ExcludeGenerated = BoolParam(Param("exclude_generated"), false),
        });
    }

    /// <summary>A typed request, however it came (the HTTP layer or an SDK caller), checked with the rules of <see cref="Parse"/>.</summary>
    public static GetTrainedModelsSettings Of(GetTrainedModelsRequest request)
    {
        var includes = request.Include.ToHashSet(StringComparer.Ordinal);
        CheckIncludes(includes);
        if (request.From < 0) throw EsErrors.IllegalArgument("Parameter [from] cannot be < 0");
        if (request.Size < 0) throw EsErrors.IllegalArgument("Parameter [size] cannot be < 0");
        return new GetTrainedModelsSettings
        {
            Ids = ModelIdPattern.Parse(string.IsNullOrEmpty(request.ModelId) ? "_all" : request.ModelId),
            AllowNoMatch = request.AllowNoMatch,
            From = request.From,
            Size = request.Size,
            Includes = includes,
            Tags = request.Tags,
            DecompressDefinition = request.DecompressDefinition,
            ExcludeGenerated = request.ExcludeGenerated,
        };
    }

    private static void CheckIncludes(IReadOnlySet<string> includes)
    {
        var unknown = includes.Where(i => !KnownIncludes.Contains(i)).Order(StringComparer.Ordinal).ToList();
        if (unknown.Count > 0)
            throw EsErrors.BadRequest($"unknown [include] parameters {EsErrors.JavaList(unknown)}. Valid options are {EsErrors.JavaList(KnownIncludes)}");
    }

    public GetTrainedModelsRequest ToRequest(string? modelId) => new()
    {
        ModelId = modelId, AllowNoMatch = AllowNoMatch, From = From, Size = Size, Include = Includes.Order(StringComparer.Ordinal).ToArray(),
        Tags = Tags, DecompressDefinition = DecompressDefinition, ExcludeGenerated = ExcludeGenerated,
    };

    /// <summary>
    /// Picks the page: models with every asked tag, matched by the id expression (404 as
    /// <see cref="ModelIdPattern.Expand"/> says), sorted by id, then from/size. Asking for the
    /// definition of more than one model is refused (400 "Getting model definition is not supported
    /// when getting more than one model").
    /// </summary>
    /// <param name="models">Model id → that model's tags.</param>
    /// <param name="aliases">Model alias → model id.</param>
    public TrainedModelsPage Select(IReadOnlyDictionary<string, IReadOnlyList<string>> models, IReadOnlyDictionary<string, string>? aliases = null)
    {
        var candidates = models.Where(m => Tags.All(m.Value.Contains)).Select(m => m.Key);
        // ES matches the expression against one page of search hits, so an exact id beyond the page
        // can be reported missing; we match against every candidate and page afterwards.
        var matched = Ids.Expand(candidates, AllowNoMatch, aliases);
        var page = matched.Skip(From).Take(Size).ToList();
        if (Includes.Contains(IncludeDefinition) && page.Count > 1)
            throw EsErrors.BadRequest("Getting model definition is not supported when getting more than one model");
        return new TrainedModelsPage(page, matched.Count);
    }

    /// <summary>Strings.splitStringByCommaToArray: split on commas, nothing trimmed; empty input gives none.</summary>
    private static List<string> SplitByComma(string? value) =>
        string.IsNullOrEmpty(value) ? [] : value.Split(',').ToList();

    private static int IntParam(string name, string? value, int defaultValue)
    {
        if (value is null) return defaultValue;
        return int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n)
            ? n
            : throw EsErrors.IllegalArgument($"Failed to parse int parameter [{name}] with value [{value}]");
    }

    /// <summary>RestRequest.paramAsBoolean: a present but empty parameter means true.</summary>
    private static bool BoolParam(string? value, bool defaultValue) => value switch
    {
        null => defaultValue,
        "" or "true" => true,
        "false" => false,
        _ => throw EsErrors.IllegalArgument($"Failed to parse value [{value}] as only [true] or [false] are allowed."),
    };
}
