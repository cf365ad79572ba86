using System.Globalization;
using TrainedModelsOrleans.Grains.Errors;

namespace TrainedModelsOrleans.Grains.Models.Parsing;

/// <summary>The Elasticsearch exception types these rules raise, with the status ES gives each.</summary>
internal static class EsErrors
{
    /// <summary>ElasticsearchStatusException, e.g. ExceptionsHelper.badRequestException.</summary>
    public static ElasticsearchException Status(int status, string reason) => new(status, "status_exception", reason);

    public static ElasticsearchException BadRequest(string reason) => Status(400, reason);

    public static ElasticsearchException IllegalArgument(string reason) => new(400, "illegal_argument_exception", reason);

    public static ElasticsearchException XContentParse(string reason) => new(400, "x_content_parse_exception", reason);

    /// <summary>ElasticsearchParseException, e.g. "request body is required".</summary>
    public static ElasticsearchException Parse(string reason) => new(400, "parse_exception", reason);

    /// <summary>ResourceAlreadyExistsException: ES answers 400, not 409.</summary>
    public static ElasticsearchException AlreadyExists(string reason) => new(400, "resource_already_exists_exception", reason);

    public static ElasticsearchException NotFound(string reason) => new(404, "resource_not_found_exception", reason);

    public static ElasticsearchException Validation(params string[] errors) => ElasticsearchException.Validation(errors);

    /// <summary>Java's <c>List.toString()</c>: <c>[a, b]</c>.</summary>
    public static string JavaList<T>(IEnumerable<T>? items) =>
        items is null ? "null" : "[" + string.Join(", ", items.Select(JavaString)) + "]";

    /// <summary>Java's <c>String.valueOf</c> for the values that appear in messages.</summary>
    public static string JavaString<T>(T value) => value switch
    {
        null => "null",
        bool b => b ? "true" : "false",
        double d => JavaDouble(d),
        float f => JavaDouble(f),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "null",
    };

    /// <summary>Java's <c>Double.toString</c> for ordinary values: always a decimal point (1.0, 0.5).</summary>
    public static string JavaDouble(double d)
    {
        if (double.IsNaN(d)) return "NaN";
        if (double.IsPositiveInfinity(d)) return "Infinity";
        if (double.IsNegativeInfinity(d)) return "-Infinity";
        var s = d.ToString("R", CultureInfo.InvariantCulture);
        return s.Contains('.') || s.Contains('E') ? s : s + ".0";
    }

    /// <summary>An integer as java.text.MessageFormat renders it in a <c>{0}</c> placeholder (Locale.ROOT): grouped, <c>1,234</c>.</summary>
    public static string MessageFormatNumber(long n) => n.ToString("#,##0", CultureInfo.InvariantCulture);
}
