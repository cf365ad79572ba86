using System.Globalization;
using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Models;

namespace TrainedModelsOrleans.Api.Http;

/// <summary>
/// The Accept and Content-Type rules of Elasticsearch 8 (RestRequest, ParsedMediaType, RestCompatibleVersionHelper,
/// RestController): <c>compatible-with</c> may be 7 or 8, and when a body is sent the two headers must both carry the
/// same version or neither; a broken header or version is 400 <c>media_type_header_exception</c> (its cause nested as
/// <c>caused_by</c>); a body whose Content-Type is not JSON is 406 with ES's short error body.
/// </summary>
public static class MediaTypeHeaders
{
    private const int CurrentMajor = 8;
    private const int MinimumCompatibleMajor = 7;

    /// <summary>The media type header error of a request, or null when its headers are acceptable.</summary>
    public static ElasticsearchException? Check(string? accept, string? contentType, bool hasBody)
    {
        if (!TryVersion(accept, out var acceptVersion)) return Invalid("Accept", accept!);
        if (!TryVersion(contentType, out var contentVersion) || (contentType is not null && !IsMediaType(contentType)))
            return Invalid("Content-Type", contentType!);

        var acceptMajor = acceptVersion ?? CurrentMajor;
        var contentMajor = contentVersion ?? CurrentMajor;
        if (acceptMajor is > CurrentMajor or < MinimumCompatibleMajor)
            return Compatibility(
                $"Accept version must be either version {CurrentMajor} or {MinimumCompatibleMajor}, but found {acceptMajor}. Accept={Show(accept)}");
        if (!hasBody) return null;
        if (contentMajor is > CurrentMajor or < MinimumCompatibleMajor)
            return Compatibility(
                $"Content-Type version must be either version {CurrentMajor} or {MinimumCompatibleMajor}, but found {contentMajor}. Content-Type={Show(contentType)}");
        if (contentMajor != acceptMajor)
            return Compatibility("A compatible version is required on both Content-Type and Accept headers if either one has requested a "
                                 + $"compatible version and the compatible versions must match. Accept={Show(accept)}, Content-Type={Show(contentType)}");
        if ((contentVersion is null) != (acceptVersion is null))
            return Compatibility("A compatible version is required on both Content-Type and Accept headers if either one has requested a "
                                 + $"compatible version. Accept={Show(accept)}, Content-Type={Show(contentType)}");
        return null;
    }

    /// <summary>
    /// RestController.sendContentTypeErrorMessage's text when a body's Content-Type is missing or not one we read (JSON and
    /// its Elasticsearch vendor forms), else null.
    /// </summary>
    public static string? UnsupportedBodyType(string? contentType)
    {
        if (string.IsNullOrEmpty(contentType)) return "Content-Type header is missing";
        var essence = contentType.Split(';')[0].Trim();
        return essence.Equals("application/json", StringComparison.OrdinalIgnoreCase)
               || essence.Equals("application/vnd.elasticsearch+json", StringComparison.OrdinalIgnoreCase)
               || essence.Equals("application/x-ndjson", StringComparison.OrdinalIgnoreCase)
               || essence.Equals("application/vnd.elasticsearch+x-ndjson", StringComparison.OrdinalIgnoreCase)
            ? null
            : $"Content-Type header [{contentType}] is not supported";
    }

    /// <summary>The compatible-with version a header asks for (null when none); false when it is not a number.</summary>
    public static bool TryVersion(string? header, out int? version)
    {
        version = null;
        if (string.IsNullOrEmpty(header)) return true;
        var at = header.IndexOf("compatible-with", StringComparison.OrdinalIgnoreCase);
        if (at < 0) return true;
        var rest = header.AsSpan(at + "compatible-with".Length).TrimStart();
        if (rest.Length == 0 || rest[0] != '=') return false;
        rest = rest[1..].Trim();
        var end = rest.IndexOfAny(',', ';');
        if (end >= 0) rest = rest[..end].TrimEnd();
        // Byte.parseByte in ES: a version must be a small number.
        if (!sbyte.TryParse(rest, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var parsed)) return false;
        version = parsed;
        return true;
    }

    /// <summary>ParsedMediaType.parseMediaType's shape check: <c>type/subtype</c>, then <c>;name=value</c> parameters.</summary>
    private static bool IsMediaType(string header)
    {
        var parts = header.Split(';');
        var typeAndSubtype = parts[0].Trim().Split('/');
        if (typeAndSubtype.Length != 2 || typeAndSubtype.Any(p => p.Length == 0 || p.Any(char.IsWhiteSpace))) return false;
        return parts.Skip(1).All(p => p.Trim().Length == 0 || p.Split('=').Length == 2);
    }

    private static string Show(string? header) => header ?? "null";

    private static ElasticsearchException Invalid(string header, string value) =>
        new ElasticsearchExceptionWithCause(400, "media_type_header_exception", $"Invalid media-type value on headers [{header}]",
            new ElasticsearchException(400, "illegal_argument_exception", $"invalid media-type [{value}]"));

    /// <summary>RestRequest wraps the version helper's failure in a MediaTypeHeaderException naming both headers.</summary>
    private static ElasticsearchException Compatibility(string reason) =>
        new ElasticsearchExceptionWithCause(400, "media_type_header_exception", "Invalid media-type value on headers [Accept, Content-Type]",
            new ElasticsearchException(400, "status_exception", reason));
}
