using System.Text.Json;
using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Models.Parsing;
using TrainedModelsOrleans.Grains.Security;

namespace TrainedModelsOrleans.Api.Security;

/// <summary>A PUT _security/user body, checked as ES's PutUserRequest does.</summary>
public sealed record PutUserRequest(string? Password, IReadOnlyList<string> Roles, string? FullName, string? Email, string MetadataJson, bool Enabled);

/// <summary>A create API key body.</summary>
public sealed record CreateApiKeyRequest(string Name, TimeSpan? Expiration, IReadOnlyList<ApiKeyRole> RoleDescriptors, string MetadataJson)
{
    /// <summary>ES: a key made with a key may carry no privileges of its own, so it can never widen what the first key allows.</summary>
    public void CheckMadeBy(AuthenticatedSubject subject)
    {
        if (subject.ApiKey is not null && (RoleDescriptors.Count == 0 || RoleDescriptors.Any(r => r.Cluster.Count > 0)))
            throw ElasticsearchException.IllegalArgument("creating derived api keys requires an explicit role descriptor that is empty (has no privileges)");
    }
}

/// <summary>Reads the _security APIs' bodies and applies ES's request validation, with its texts.</summary>
public static class SecurityRequests
{
    /// <summary>ES's minimum password length (Validation.Users / PutUserRequest).</summary>
    public const int MinPasswordLength = 6;

    public static JsonObject ReadObject(byte[] body)
    {
        try
        {
            // A repeated field is a parse error, as in ES ("Duplicate field"), not a later failure building the object.
            return JsonNode.Parse(body, documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false }) as JsonObject
                ?? throw new ElasticsearchException(400, "parse_exception", "request body must be a JSON object");
        }
        catch (JsonException error)
        {
            throw new ElasticsearchException(400, "parse_exception", $"failed to parse request body: {error.Message}");
        }
    }

    /// <summary>ES's username rule: 1 to 507 printable ASCII characters, no leading or trailing whitespace.</summary>
    public static string? UsernameError(string username) =>
        username.Length is 0 or > 507 || username.Trim() != username || username.Any(c => c < 0x20 || c > 0x7e)
            ? "Invalid username [" + (username.Length > 100 ? username[..100] + "..." : username) + "]... Usernames must be at least [1] and no more than [507] characters. They can contain alphanumeric characters (a-z, A-Z, 0-9), spaces, punctuation, and printable symbols in the Basic Latin (ASCII) block. Leading or trailing whitespace is not allowed."
            : null;

    public static string? PasswordError(string password) =>
        password.Length < MinPasswordLength ? $"passwords must be at least [{MinPasswordLength}] characters long" : null;

    public static PutUserRequest ParsePutUser(string username, JsonObject body, bool passwordRequired)
    {
        // Types first, in ES's words (PutUserRequestBuilder: ElasticsearchParseException), before any validation.
        foreach (var (field, value) in body)
        {
            var expected = field switch
            {
                "password" or "password_hash" or "username" => value is JsonValue v && v.GetValueKind() == JsonValueKind.String ? null : "string",
                "full_name" or "email" => value is null || (value is JsonValue v && v.GetValueKind() == JsonValueKind.String) ? null : "string",
                "metadata" => value is JsonObject ? null : "object",
                "enabled" => value is JsonValue v && v.GetValueKind() is JsonValueKind.True or JsonValueKind.False ? null : "boolean",
                "roles" => null,
                _ => throw new ElasticsearchException(400, "parse_exception", $"failed to parse add user request. unexpected field [{field}]"),
            };
            if (expected is not null)
                throw new ElasticsearchException(400, "parse_exception",
                    $"expected field [{field}] to be of type {expected}, but found [{JsonTokens.Name(value)}] instead");
        }
        if (body["username"] is { } named && named.GetValue<string>() != username)
            throw ElasticsearchException.IllegalArgument($"[username] in source does not match the username provided [{username}]");
        List<string>? roles = body.ContainsKey("roles") ? [.. StringArray("roles", body["roles"], commaSeparated: true)] : null;

        var errors = new List<string>();
        if (UsernameError(username) is { } nameError) errors.Add(nameError);
        var password = (string?)body["password"];
        if (password is not null && PasswordError(password) is { } passwordError) errors.Add(passwordError);
        if (password is null && passwordRequired) errors.Add("password must be specified unless you are updating an existing user");
        if (roles is null) errors.Add("roles are missing");
        if (body.ContainsKey("password_hash"))
            errors.Add("[password_hash] is not supported here: send [password], which is hashed by the service");
        if (errors.Count > 0) throw ElasticsearchException.Validation(errors);
        var metadata = body["metadata"] is JsonObject m ? m.ToJsonString() : "{}";
        var enabled = body["enabled"] is not JsonValue e || e.GetValueKind() != JsonValueKind.False;
        return new PutUserRequest(password, roles!, (string?)body["full_name"], (string?)body["email"], metadata, enabled);
    }

    public static string ParsePassword(JsonObject body)
    {
        foreach (var (field, value) in body)
        {
            // ES's ChangePasswordRequestBuilder: only password (or password_hash), a string.
            if (field != "password") throw new ElasticsearchException(400, "parse_exception", $"failed to parse change password request. unexpected field [{field}]");
            if (value is not JsonValue v || v.GetValueKind() != JsonValueKind.String)
                throw new ElasticsearchException(400, "parse_exception",
                    $"expected field [password] to be of type string, but found [{JsonTokens.Name(value)}] instead");
        }
        var password = (string?)body["password"];
        var errors = new List<string>();
        if (password is null) errors.Add("password is missing");
        else if (PasswordError(password) is { } error) errors.Add(error);
        if (errors.Count > 0) throw ElasticsearchException.Validation(errors);
        return password!;
    }

    public static CreateApiKeyRequest ParseCreateApiKey(JsonObject body)
    {
        const string parser = "api_key_request";
        var name = ObjectString(parser, body, "name");
        if (string.IsNullOrEmpty(name)) throw ElasticsearchException.Validation(["api key name is required"]);
        if (name.Length > 256) throw ElasticsearchException.Validation(["api key name may not be more than [256] characters long"]);
        TimeSpan? expiration = ObjectString(parser, body, "expiration") is { } text ? Expiration(text) : null;
        if (expiration is { } e && e <= TimeSpan.Zero) throw ElasticsearchException.Validation(["api key expiration must be a positive time"]);
        var roles = new List<ApiKeyRole>();
        switch (body["role_descriptors"])
        {
            case null when !body.ContainsKey("role_descriptors"):
                break;
            case JsonObject descriptors:
                foreach (var (roleName, descriptor) in descriptors) roles.Add(ParseRoleDescriptor(roleName, descriptor));
                break;
            case var other:
                throw JsonTokens.Unsupported(parser, "role_descriptors", other);
        }
        var metadata = body["metadata"] switch
        {
            null when !body.ContainsKey("metadata") => "{}",
            JsonObject m => m.ToJsonString(),
            var other => throw JsonTokens.Unsupported(parser, "metadata", other),
        };
        return new CreateApiKeyRequest(name, expiration, roles, metadata);
    }

    /// <summary>
    /// ES adds the expiration to now in milliseconds (a key may expire in 100000 years there); here time is counted in
    /// 64-bit nanoseconds, which saturate at 292 years, so a longer one is refused rather than silently shortened.
    /// </summary>
    private static TimeSpan Expiration(string text)
    {
        var value = TimeValue.Parse(text, "expiration");
        if (value.Nanos == long.MaxValue)
            throw ElasticsearchException.IllegalArgument(
                $"[expiration] of [{text}] is too long: an API key may expire within 292 years; leave [expiration] out for a key that does not expire");
        return value.ToTimeSpan();
    }

    /// <summary>A role descriptor of a key, as ES's RoleDescriptor.parse reads the cluster part (the only part this service uses).</summary>
    private static ApiKeyRole ParseRoleDescriptor(string roleName, JsonNode? descriptor)
    {
        if (descriptor is not JsonObject d)
            throw new ElasticsearchException(400, "parse_exception",
                $"failed to parse role [{roleName}]. expected an object but found [{JsonTokens.Name(descriptor)}] instead");
        var cluster = new List<string>();
        if (d.ContainsKey("cluster"))
            foreach (var privilege in StringArray("cluster", d["cluster"], commaSeparated: false, $"failed to parse role [{roleName}]. "))
            {
                if (!ClusterPrivileges.IsValid(privilege))
                    throw ElasticsearchException.IllegalArgument(
                        $"unknown cluster privilege [{privilege}]. a privilege must be either one of the predefined cluster privilege names "
                        + $"[{string.Join(",", ClusterPrivileges.All.Select(c => c.Name))}] or a pattern over one of the available cluster actions");
                cluster.Add(privilege);
            }
        return new ApiKeyRole(roleName, cluster);
    }

    /// <summary>ES's XContentUtils.readStringArray (a string alone is a comma-separated list where ES allows it).</summary>
    private static IEnumerable<string> StringArray(string field, JsonNode? value, bool commaSeparated, string prefix = "")
    {
        if (commaSeparated && value is JsonValue one && one.GetValueKind() == JsonValueKind.String)
            return one.GetValue<string>().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (value is not JsonArray array)
            throw new ElasticsearchException(400, "parse_exception", value is null
                ? $"{prefix}could not parse [{field}] field. expected a string array but found null value instead"
                : $"{prefix}could not parse [{field}] field. expected a string array but found [{JsonTokens.Name(value)}] value instead");
        return array.Select(item => item is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>()
            : throw new ElasticsearchException(400, "parse_exception",
                $"{prefix}could not parse [{field}] field. expected a string array but one of the value in the array is [{JsonTokens.Name(item)}]")).ToArray();
    }

    /// <summary>A string field of an ObjectParser-read body (absent or null: null); any other type is ES's x_content_parse_exception.</summary>
    internal static string? ObjectString(string parser, JsonObject body, string field) => body[field] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        var other => throw JsonTokens.Unsupported(parser, field, other),
    };
}
