using System.Globalization;
using Microsoft.AspNetCore.Http;
using TrainedModelsOrleans.Grains.Errors;

namespace TrainedModelsOrleans.Api.Http;

/// <summary>ES's parsing of query-string values: booleans, integers and time values, with ES's error texts.</summary>
public static class QueryParameters
{
    public static bool Bool(HttpRequest request, string name, bool defaultValue) =>
        request.Query.TryGetValue(name, out var values) ? ParseBool(values.ToString()) : defaultValue;

    /// <summary>ES's RestRequest.paramAsBoolean: empty (the parameter alone) or "true" is true, "false" false, anything else a 400.</summary>
    public static bool ParseBool(string value) => value switch
    {
        "" or "true" => true,
        "false" => false,
        _ => throw ElasticsearchException.IllegalArgument($"Failed to parse value [{value}] as only [true] or [false] are allowed."),
    };

    /// <summary>Every query parameter, as the grains take them (a parameter without a value is present and empty).</summary>
    public static IReadOnlyDictionary<string, string?> All(HttpRequest request) =>
        request.Query.ToDictionary(q => q.Key, q => (string?)q.Value.ToString(), StringComparer.Ordinal);
}
