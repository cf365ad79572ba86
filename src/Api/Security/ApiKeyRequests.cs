using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using TrainedModelsOrleans.Api.Http;
using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Models.Parsing;
using TrainedModelsOrleans.Grains.Security;

namespace TrainedModelsOrleans.Api.Security;

/// <summary>A GET _security/api_key: whose keys, which, and how to show them.</summary>
public sealed record GetApiKeysRequest(string? Id, string? Name, ApiKeyScope Scope, bool ActiveOnly)
{
    public ApiKeyFilter Filter(AuthenticatedSubject subject) => ApiKeyRequests.Filter(Id is null ? null : [Id], Name, Scope, subject);
}

/// <summary>A DELETE _security/api_key body.</summary>
public sealed record InvalidateApiKeysRequest(IReadOnlyList<string>? Ids, string? Name, ApiKeyScope Scope)
{
    public ApiKeyFilter Filter(AuthenticatedSubject subject) => ApiKeyRequests.Filter(Ids, Name, Scope, subject);
}

/// <summary>Reads GET and DELETE _security/api_key with ES's types and its request validation (GetApiKeyRequest, InvalidateApiKeyRequest).</summary>
public static class ApiKeyRequests
{
    public static GetApiKeysRequest ParseGet(HttpRequest http)
    {
        string? Text(string name) => http.Query[name].ToString() is { Length: > 0 } value ? value : null;
        var request = new GetApiKeysRequest(Text("id"), Text("name"),
            new ApiKeyScope(null, Text("username"), Text("realm_name"), QueryParameters.Bool(http, "owner", false),
                QueryParameters.Bool(http, "with_limited_by", false)),
            QueryParameters.Bool(http, "active_only", false));
        var scope = request.Scope with { Ids = request.Id is null ? null : [request.Id] };
        var errors = new List<string>();
        if ((request.Id is not null || request.Name is not null) && (scope.Username is not null || scope.RealmName is not null))
            errors.Add("username or realm name must not be specified when the api key id or api key name is specified");
        if (scope.Owner && (scope.Username is not null || scope.RealmName is not null))
            errors.Add("neither username nor realm-name may be specified when retrieving owned API keys");
        if (request.Id is not null && request.Name is not null) errors.Add("only one of [api key id, api key name] can be specified");
        if (errors.Count > 0) throw ElasticsearchException.Validation(errors);
        return request with { Scope = scope };
    }

    public static InvalidateApiKeysRequest ParseInvalidate(JsonObject body)
    {
        const string parser = "invalidate_api_key";
        List<string>? ids = null;
        foreach (var (field, value) in body)
            switch (field)
            {
                case "ids":
                    if (value is not JsonArray array) throw JsonTokens.Unsupported(parser, field, value);
                    ids = [.. array.Select(i => i is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>()
                        : throw JsonTokens.Unsupported(parser, field, i))];
                    break;
                case "id" or "name" or "username" or "realm_name":
                    SecurityRequests.ObjectString(parser, body, field);
                    break;
                case "owner":
                    if (value is not JsonValue b || b.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False))
                        throw JsonTokens.Unsupported(parser, field, value);
                    break;
                default:
                    throw new ElasticsearchException(400, "x_content_parse_exception", $"[{parser}] unknown field [{field}]");
            }
        // ES's InvalidateApiKeyRequest checks its ids as it is made, before anything else.
        if (ids is { Count: 0 }) throw ElasticsearchException.Validation(["Field [ids] cannot be an empty array"]);
        if (ids is not null && Enumerable.Range(0, ids.Count).Where(i => string.IsNullOrWhiteSpace(ids[i])).ToArray() is { Length: > 0 } blank)
            throw ElasticsearchException.Validation([$"Field [ids] must not contain blank id, but got blank {(blank.Length == 1 ? "id at index position" : "ids at index positions")}: [{string.Join(", ", blank)}]"]);
        if (SecurityRequests.ObjectString(parser, body, "id") is { } id) ids = [.. ids ?? [], id];
        string? Text(string name) => SecurityRequests.ObjectString(parser, body, name) is { Length: > 0 } value ? value : null;
        var (name, username, realm) = (Text("name"), Text("username"), Text("realm_name"));
        var owner = body["owner"] is JsonValue o && o.GetValueKind() == JsonValueKind.True;

        var errors = new List<string>();
        if (ids is null && name is null && username is null && realm is null && !owner)
            errors.Add("One of [api key id(s), api key name, username, realm name] must be specified if [owner] flag is false");
        if ((ids is not null || name is not null) && (username is not null || realm is not null))
            errors.Add("username or realm name must not be specified when the api key id(s) or api key name are specified");
        if (owner && (username is not null || realm is not null))
            errors.Add("neither username nor realm-name may be specified when invalidating owned API keys");
        if (ids is not null && name is not null) errors.Add("only one of [api key id(s), api key name] can be specified");
        if (errors.Count > 0) throw ElasticsearchException.Validation(errors);
        return new InvalidateApiKeysRequest(ids, name, new ApiKeyScope(ids, username, realm, owner));
    }

    /// <summary>owner=true means the subject's own keys (for an API key, those of its owner, as ES).</summary>
    internal static ApiKeyFilter Filter(IReadOnlyList<string>? ids, string? name, ApiKeyScope scope, AuthenticatedSubject subject) => new()
    {
        Ids = ids,
        Name = name,
        Username = scope.Owner ? subject.Username : scope.Username,
        RealmName = scope.Owner ? subject.UserRealm.Name : scope.RealmName,
    };
}
