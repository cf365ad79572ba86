using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using Orleans;
using TrainedModelsOrleans.Api.Http;
using TrainedModelsOrleans.Api.Security;
using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Security;

namespace TrainedModelsOrleans.Api.Endpoints;

/// <summary>
/// _security: who am I, users of the native realm (and the reserved elastic user's password), and API keys. Secrets
/// are hashed here, on the API node, in the Authenticator's bounded hashing turns; the realm grain stores hashes only.
/// </summary>
public static class SecurityEndpoints
{
    private const string ElasticUser = SecurityRealmGrain.ElasticUser;

    public static IEndpointRouteBuilder MapSecurityEndpoints(this IEndpointRouteBuilder app)
    {
        var security = app.MapGroup("/_security");

        security.MapGet("/_authenticate", (HttpContext context) => ElasticsearchJson.Ok(AuthenticateBody(Subject(context))));

        security.MapMethods("/api_key", [HttpMethods.Post, HttpMethods.Put], CreateApiKeyAsync);
        security.MapGet("/api_key", GetApiKeysAsync);
        security.MapDelete("/api_key", InvalidateApiKeysAsync);

        security.MapGet("/user", (IGrainFactory grains) => GetUsersAsync(null, grains));
        security.MapGet("/user/{username}", (string username, IGrainFactory grains) => GetUsersAsync(username, grains));
        security.MapMethods("/user/{username}", [HttpMethods.Post, HttpMethods.Put], PutUserAsync);
        security.MapDelete("/user/{username}", DeleteUserAsync);
        security.MapMethods("/user/{username}/_password", [HttpMethods.Post, HttpMethods.Put], ChangePasswordAsync);
        // ES's "change my own password": the literal segment wins over /user/{username} (no user named _password is made).
        security.MapMethods("/user/_password", [HttpMethods.Post, HttpMethods.Put],
            (HttpContext context, IGrainFactory grains, Authenticator authenticator, IOptions<SecurityOptions> options) =>
                ChangePasswordAsync(Subject(context).Username, context, grains, authenticator, options));
        return app;
    }

    private static ISecurityRealmGrain RealmGrain(IGrainFactory grains) => grains.GetGrain<ISecurityRealmGrain>(ISecurityRealmGrain.Key);

    private static AuthenticatedSubject Subject(HttpContext context) => SecurityMiddleware.SubjectOf(context)
        ?? throw new ElasticsearchException(400, "security_exception", "security is disabled on this node (Security:Enabled=false)");

    private static JsonObject AuthenticateBody(AuthenticatedSubject subject)
    {
        var user = subject.User;
        var realm = subject.ApiKey is null ? subject.UserRealm : Realm.ApiKey;
        var body = new JsonObject
        {
            ["username"] = user.Username,
            // ES reports no roles for an API key: its privileges are its role descriptors.
            ["roles"] = subject.ApiKey is null ? Strings(user.Roles) : new JsonArray(),
            ["full_name"] = user.FullName,
            ["email"] = user.Email,
            ["metadata"] = Metadata(user),
            ["enabled"] = user.Enabled,
            ["authentication_realm"] = new JsonObject { ["name"] = realm.Name, ["type"] = realm.Type },
            ["lookup_realm"] = new JsonObject { ["name"] = realm.Name, ["type"] = realm.Type },
            ["authentication_type"] = subject.ApiKey is null ? "realm" : "api_key",
        };
        if (subject.ApiKey is { } key) body["api_key"] = new JsonObject { ["id"] = key.Id, ["name"] = key.Name };
        return body;
    }

    private static async Task<IResult> CreateApiKeyAsync(HttpContext context, IGrainFactory grains, Authenticator authenticator,
        IOptions<SecurityOptions> options, TimeProvider time)
    {
        var subject = Subject(context);
        var request = SecurityRequests.ParseCreateApiKey(SecurityRequests.ReadObject(await RequestBody.ReadBytesAsync(context.Request, required: true)));
        request.CheckMadeBy(subject);

        var id = RandomId(15);
        var secret = RandomId(16);
        var now = time.GetUtcNow();
        var key = new StoredApiKey
        {
            Id = id,
            Name = request.Name,
            KeyHash = await authenticator.HashAsync(secret, options.Value.ApiKeyHashIterations, context.RequestAborted),
            Username = subject.Username,
            Realm = subject.UserRealm.Name,
            Creation = now,
            Expiration = request.Expiration is { } expiration ? now + expiration : null,
            RoleDescriptors = request.RoleDescriptors,
            LimitedByRoles = subject.ApiKey is null ? subject.User.Roles : subject.Access.Roles,
            MetadataJson = request.MetadataJson,
        };
        await RealmGrain(grains).CreateApiKey(key);
        var body = new JsonObject { ["id"] = id, ["name"] = key.Name };
        if (key.Expiration is { } expires) body["expiration"] = expires.ToUnixTimeMilliseconds();
        body["api_key"] = secret;
        body["encoded"] = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{id}:{secret}"));
        return ElasticsearchJson.Ok(body);
    }

    private static async Task<IResult> GetApiKeysAsync(HttpContext context, IGrainFactory grains, TimeProvider time)
    {
        var subject = Subject(context);
        var request = ApiKeyRequests.ParseGet(context.Request);
        RequireOwnKeys(subject, RouteActions.GetApiKey, request.Scope);
        var now = time.GetUtcNow();
        var keys = (await RealmGrain(grains).FindApiKeys(request.Filter(subject)))
            .Where(k => !request.ActiveOnly || (!k.Invalidated && (k.Expiration is null || k.Expiration > now)));
        return ElasticsearchJson.Ok(new JsonObject { ["api_keys"] = new JsonArray([.. keys.Select(k => (JsonNode)ApiKeyBody(k, request.Scope.WithLimitedBy))]) });
    }

    /// <summary>With only manage_own_api_key, a request must name the caller's own keys (ES's ManageOwnApiKeyClusterPrivilege): else the 403 the middleware gives.</summary>
    private static void RequireOwnKeys(AuthenticatedSubject subject, string action, ApiKeyScope scope)
    {
        if (subject.Access.AllowsBeyondOwnApiKeys(action) || OwnApiKeys.Covers(subject, scope)) return;
        throw new ElasticsearchException(403, "security_exception", $"action [{action}] is unauthorized for {subject.Description}"
            + $", this action is granted by the cluster privileges [{string.Join(",", ClusterPrivileges.ThatGrant(action))}]");
    }

    private static JsonObject ApiKeyBody(StoredApiKey key, bool withLimitedBy)
    {
        var body = new JsonObject
        {
            ["id"] = key.Id,
            ["name"] = key.Name,
            ["type"] = "rest",
            ["creation"] = key.Creation.ToUnixTimeMilliseconds(),
        };
        if (key.Expiration is { } expires) body["expiration"] = expires.ToUnixTimeMilliseconds();
        body["invalidated"] = key.Invalidated;
        if (key.InvalidationTime is { } invalidated) body["invalidation"] = invalidated.ToUnixTimeMilliseconds();
        body["username"] = key.Username;
        body["realm"] = key.Realm;
        body["metadata"] = JsonNode.Parse(key.MetadataJson);
        body["role_descriptors"] = RoleDescriptorsBody(key.RoleDescriptors);
        if (withLimitedBy)
            body["limited_by"] = new JsonArray(RoleDescriptorsBody(key.LimitedByRoles.Select(r => new ApiKeyRole(r, BuiltinRoles.ClusterPrivilegesOf(r)))));
        return body;
    }

    private static JsonObject RoleDescriptorsBody(IEnumerable<ApiKeyRole> roles)
    {
        var body = new JsonObject();
        foreach (var role in roles)
            body[role.Name] = new JsonObject
            {
                ["cluster"] = Strings(role.Cluster),
                ["indices"] = new JsonArray(),
                ["applications"] = new JsonArray(),
                ["run_as"] = new JsonArray(),
                ["metadata"] = new JsonObject(),
                ["transient_metadata"] = new JsonObject { ["enabled"] = true },
            };
        return body;
    }

    private static async Task<IResult> InvalidateApiKeysAsync(HttpContext context, IGrainFactory grains, Authenticator authenticator)
    {
        var subject = Subject(context);
        var request = ApiKeyRequests.ParseInvalidate(SecurityRequests.ReadObject(await RequestBody.ReadBytesAsync(context.Request, required: true)));
        RequireOwnKeys(subject, RouteActions.InvalidateApiKey, request.Scope);
        var result = await RealmGrain(grains).InvalidateApiKeys(request.Filter(subject));
        authenticator.Forget();
        return ElasticsearchJson.Ok(new JsonObject
        {
            ["invalidated_api_keys"] = Strings(result.Invalidated),
            ["previously_invalidated_api_keys"] = Strings(result.PreviouslyInvalidated),
            ["error_count"] = 0,
        });
    }

    private static async Task<IResult> GetUsersAsync(string? names, IGrainFactory grains)
    {
        var wanted = names?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var users = (await RealmGrain(grains).GetUsers()).Where(u => wanted is null || wanted.Contains(u.Username, StringComparer.Ordinal)).ToArray();
        // ES answers an unknown user with 404 and an empty object.
        if (wanted is not null && users.Length == 0) return new JsonStatus(404, new JsonObject());
        var body = new JsonObject();
        foreach (var user in users)
            body[user.Username] = new JsonObject
            {
                ["username"] = user.Username,
                ["roles"] = Strings(user.Roles),
                ["full_name"] = user.FullName,
                ["email"] = user.Email,
                ["metadata"] = Metadata(user),
                ["enabled"] = user.Enabled,
            };
        return ElasticsearchJson.Ok(body);
    }

    private static async Task<IResult> PutUserAsync(string username, HttpContext context, IGrainFactory grains, Authenticator authenticator,
        IOptions<SecurityOptions> options)
    {
        if (username == ElasticUser)
            throw ElasticsearchException.Validation([$"user [{username}] is reserved and only the password can be changed"]);
        var realm = RealmGrain(grains);
        var existing = await realm.GetUser(username);
        var request = SecurityRequests.ParsePutUser(username,
            SecurityRequests.ReadObject(await RequestBody.ReadBytesAsync(context.Request, required: true)), passwordRequired: existing is null);
        var created = await realm.PutUser(new StoredUser
        {
            Username = username,
            PasswordHash = request.Password is null ? null
                : await authenticator.HashAsync(request.Password, options.Value.PasswordHashIterations, context.RequestAborted),
            Roles = request.Roles,
            FullName = request.FullName,
            Email = request.Email,
            MetadataJson = request.MetadataJson,
            Enabled = request.Enabled,
        });
        authenticator.Forget();
        return ElasticsearchJson.Ok(new JsonObject { ["created"] = created });
    }

    private static async Task<IResult> DeleteUserAsync(string username, IGrainFactory grains, Authenticator authenticator)
    {
        if (username == ElasticUser)
            throw ElasticsearchException.IllegalArgument($"user [{username}] is reserved and cannot be deleted");
        var found = await RealmGrain(grains).DeleteUser(username);
        authenticator.Forget();
        return found ? ElasticsearchJson.Ok(new JsonObject { ["found"] = true }) : new JsonStatus(404, new JsonObject { ["found"] = false });
    }

    private static async Task<IResult> ChangePasswordAsync(string username, HttpContext context, IGrainFactory grains, Authenticator authenticator,
        IOptions<SecurityOptions> options)
    {
        var password = SecurityRequests.ParsePassword(SecurityRequests.ReadObject(await RequestBody.ReadBytesAsync(context.Request, required: true)));
        // Before hashing: a missing user costs no PBKDF2 (the grain checks again, for a delete in between).
        if (username != ElasticUser && await RealmGrain(grains).GetUser(username) is null) throw UserMustExist();
        var hash = await authenticator.HashAsync(password, options.Value.PasswordHashIterations, context.RequestAborted);
        var changed = username == ElasticUser
            ? await RealmGrain(grains).SetElasticPassword(hash, replace: true)
            : await RealmGrain(grains).ChangePassword(username, hash);
        if (!changed) throw UserMustExist();
        authenticator.Forget();
        return ElasticsearchJson.Ok(new JsonObject());
    }

    /// <summary>ES's NativeUsersStore answer (a ValidationException, not a request validation one).</summary>
    private static ElasticsearchException UserMustExist() =>
        new(400, "validation_exception", "Validation Failed: 1: user must exist in order to change password;");

    /// <summary>A user's metadata; the reserved user's says so, as ES's does.</summary>
    private static JsonNode Metadata(StoredUser user) =>
        user.Username == ElasticUser ? new JsonObject { ["_reserved"] = true } : JsonNode.Parse(user.MetadataJson) ?? new JsonObject();

    private static JsonArray Strings(IEnumerable<string> values) => new([.. values.Select(v => (JsonNode?)JsonValue.Create(v))]);

    /// <summary>URL-safe base64 of random bytes (ES's ids and keys are base64 UUIDs of this kind).</summary>
    private static string RandomId(int bytes) => Convert.ToBase64String(RandomNumberGenerator.GetBytes(bytes)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private sealed class JsonStatus(int status, JsonNode body) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = status;
            return ElasticsearchJson.WriteAsync(httpContext, body);
        }
    }
}
