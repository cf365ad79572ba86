using System.Text.Json;
using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Security;

namespace TrainedModelsOrleans.Api.Security;

/// <summary>A PUT _security/user body, checked as ES's PutUserRequest does.</summary>
public sealed record PutUserRequest(string? Password, IReadOnlyList<string> Roles, string? FullName, string? Email, string MetadataJson, bool Enabled);

/// <summary>A create API key body.</summary>
public sealed record CreateApiKeyRequest(string Name, TimeSpan? Expiration, IReadOnlyList<ApiKeyRole> RoleDescriptors, string MetadataJson);

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
        var errors = new List<string>();
        if (UsernameError(username) is { } nameError) errors.Add(nameError);
        var password = String(body, "password");
        if (password is not null && PasswordError(password) is { } passwordError) errors.Add(passwordError);
        if (password is null && passwordRequired) errors.Add("password must be specified unless you are updating an existing user");
        List<string> roles = [];
        if (body["roles"] is null) errors.Add("roles are missing");
        else if (body["roles"] is JsonArray array)
            foreach (var role in array)
                roles.Add(role?.GetValueKind() == JsonValueKind.String ? role.GetValue<string>()
                    : throw ElasticsearchException.IllegalArgument("[roles] must be an array of strings"));
        else roles.Add(String(body, "roles") ?? "");
        foreach (var field in body.Select(p => p.Key))
            if (field is not ("password" or "roles" or "full_name" or "email" or "metadata" or "enabled" or "username" or "password_hash"))
                throw new ElasticsearchException(400, "x_content_parse_exception", $"failed to parse add user request. unexpected field [{field}]");
        if (body.ContainsKey("password_hash"))
            errors.Add("[password_hash] is not supported here: send [password], which is hashed by the service");
        if (errors.Count > 0) throw ElasticsearchException.Validation(errors);
        var metadata = body["metadata"] is JsonObject m ? m.ToJsonString() : "{}";
        var enabled = body["enabled"] is not JsonValue e || e.GetValueKind() != JsonValueKind.False;
        return new PutUserRequest(password, roles, String(body, "full_name"), String(body, "email"), metadata, enabled);
    }

    public static string ParsePassword(JsonObject body)
    {
        var password = String(body, "password");
        var errors = new List<string>();
        if (password is null) errors.Add("password is missing");
        else if (PasswordError(password) is { } error) errors.Add(error);
        if (errors.Count > 0) throw ElasticsearchException.Validation(errors);
        return password!;
    }

    public static CreateApiKeyRequest ParseCreateApiKey(JsonObject body)
    {
        var name = String(body, "name");
        if (string.IsNullOrEmpty(name)) throw ElasticsearchException.Validation(["api key name is required"]);
        if (name.Length > 256) throw ElasticsearchException.Validation(["api key name may not be more than [256] characters long"]);
        TimeSpan? expiration = String(body, "expiration") is { } text ? TimeValue.Parse(text, "expiration").ToTimeSpan() : null;
        if (expiration is { } e && e <= TimeSpan.Zero) throw ElasticsearchException.Validation(["api key expiration must be a positive time"]);
        var roles = new List<ApiKeyRole>();
        if (body["role_descriptors"] is JsonObject descriptors)
            foreach (var (roleName, descriptor) in descriptors)
            {
                var cluster = new List<string>();
                if (descriptor is JsonObject d && d["cluster"] is JsonArray privileges)
                    foreach (var p in privileges)
                    {
                        var privilege = p?.GetValueKind() == JsonValueKind.String ? p.GetValue<string>() : "";
                        if (!ClusterPrivileges.IsValid(privilege))
                            throw ElasticsearchException.IllegalArgument(
                                $"unknown cluster privilege [{privilege}]. a privilege must be either one of the predefined cluster privilege names "
                                + $"[{string.Join(",", ClusterPrivileges.All.Select(c => c.Name))}] or a pattern over one of the available cluster actions");
                        cluster.Add(privilege);
                    }
                roles.Add(new ApiKeyRole(roleName, cluster));
            }
        var metadata = body["metadata"] is JsonObject m ? m.ToJsonString() : "{}";
        return new CreateApiKeyRequest(name, expiration, roles, metadata);
    }

    private static string? String(JsonObject body, string field) => body[field] switch
    {
        null => null,
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        _ => throw ElasticsearchException.IllegalArgument($"[{field}] must be a string"),
    };
}
