using TrainedModelsOrleans.Grains.Models.Parsing;

namespace TrainedModelsOrleans.Grains.Deployments;

/// <summary>
/// RestRequest's typed readers over the query string (paramAsInt, paramAsBoolean, paramAsTime) with
/// ES's texts. A parameter given without a value (<c>?force</c>) is present with an empty value.
/// </summary>
internal static class RestParameters
{
    /// <summary>BaseRestHandler's "has content": anything but whitespace.</summary>
    public static bool IsBlank(ReadOnlySpan<byte> body)
    {
        foreach (var b in body)
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')) return false;
        return true;
    }

    /// <summary>BaseRestHandler's refusal of an API that needs content but got none.</summary>
    public static void RequireBody(ReadOnlySpan<byte> body)
    {
        if (IsBlank(body)) throw EsErrors.Parse("request body or source parameter is required");
    }

    public static bool Has(IReadOnlyDictionary<string, string?> query, string name) => query.ContainsKey(name);

    public static string? String(IReadOnlyDictionary<string, string?> query, string name) =>
        query.TryGetValue(name, out var value) ? value ?? "" : null;

    /// <summary>RestRequest.paramAsInt: Integer.parseInt, else "Failed to parse int parameter [x] with value [v]".</summary>
    public static int? Int(IReadOnlyDictionary<string, string?> query, string name)
    {
        var value = String(query, name);
        if (value is null) return null;
        return JavaNumbers.TryParseInt(value, out var parsed)
            ? parsed
            : throw EsErrors.IllegalArgument($"Failed to parse int parameter [{name}] with value [{value}]");
    }

    /// <summary>RestRequest.paramAsBoolean: an empty value means true; only "true" and "false" otherwise.</summary>
    public static bool? Bool(IReadOnlyDictionary<string, string?> query, string name) => String(query, name) switch
    {
        null => null,
        "" or "true" => true,
        "false" => false,
        var value => throw EsErrors.IllegalArgument($"Failed to parse value [{value}] as only [true] or [false] are allowed."),
    };

    /// <summary>RestRequest.paramAsTime: TimeValue.parseTimeValue with the parameter's name as the setting.</summary>
    public static TimeValue? Time(IReadOnlyDictionary<string, string?> query, string name) =>
        String(query, name) is { } value ? TimeValue.Parse(value, name) : null;
}
