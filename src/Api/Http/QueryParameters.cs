using System.Globalization;
using Microsoft.AspNetCore.Http;
using TrainedModelsOrleans.Grains.Errors;

namespace TrainedModelsOrleans.Api.Http;

/// <summary>ES's parsing of query-string values: booleans, integers and time values, with ES's error texts.</summary>
public static class QueryParameters
{
    public static bool Bool(HttpRequest request, string name, bool defaultValue)
    {
        if (!request.Query.TryGetValue(name, out var values)) return defaultValue;
        var value = values.ToString();
        return value switch
        {
            "" or "true" => true,
            "false" => false,
            _ => throw ElasticsearchException.IllegalArgument(
                $"Failed to parse value [{value}] as only [true] or [false] are allowed."),
        };
    }

    public static int? Int(HttpRequest request, string name)
    {
        if (!request.Query.TryGetValue(name, out var values)) return null;
        var value = values.ToString();
        return int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var parsed)
            ? parsed
            : throw ElasticsearchException.IllegalArgument($"Failed to parse int parameter [{name}] with value [{value}]");
    }

    public static string? String(HttpRequest request, string name) =>
        request.Query.TryGetValue(name, out var values) ? values.ToString() : null;
}
