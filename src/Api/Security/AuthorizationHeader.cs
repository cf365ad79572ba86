using System.Text;

namespace TrainedModelsOrleans.Api.Security;

/// <summary>What an Authorization header holds: nothing we read, a user and password, an API key, or a broken value.</summary>
public abstract record Credential
{
    public sealed record None : Credential;
    public sealed record UserPassword(string Username, string Password) : Credential;
    public sealed record ApiKey(string Id, string Key) : Credential;
    /// <summary>A Basic or ApiKey header whose value does not decode (ES fails these as bad credentials).</summary>
    public sealed record Malformed(string Scheme) : Credential;
}

/// <summary>Reads <c>Authorization: Basic base64(user:password)</c> and <c>Authorization: ApiKey base64(id:key)</c>, as ES does.</summary>
public static class AuthorizationHeader
{
    public static Credential Parse(string? header)
    {
        if (string.IsNullOrEmpty(header)) return new Credential.None();
        var space = header.IndexOf(' ');
        if (space <= 0) return new Credential.None();
        var scheme = header[..space];
        var value = header[(space + 1)..].Trim();
        var basic = scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase);
        if (!basic && !scheme.Equals("ApiKey", StringComparison.OrdinalIgnoreCase)) return new Credential.None();
        if (!TryDecode(value, out var text)) return new Credential.Malformed(scheme);
        var colon = text.IndexOf(':');
        // ES: a Basic value without ':' is invalid; an ApiKey needs a non-empty id and key.
        if (colon < 0 || (!basic && (colon == 0 || colon == text.Length - 1))) return new Credential.Malformed(scheme);
        return basic ? new Credential.UserPassword(text[..colon], text[(colon + 1)..]) : new Credential.ApiKey(text[..colon], text[(colon + 1)..]);
    }

    private static bool TryDecode(string value, out string text)
    {
        text = "";
        if (value.Length == 0 || value.Length > 8192) return false;
        var bytes = new byte[value.Length];
        if (!Convert.TryFromBase64String(value, bytes, out var length)) return false;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes, 0, length);
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }
}
