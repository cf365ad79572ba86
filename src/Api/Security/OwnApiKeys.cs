namespace TrainedModelsOrleans.Api.Security;

/// <summary>Which API keys a GET or DELETE _security/api_key asks for: the parts of it that say whose keys they are.</summary>
public sealed record ApiKeyScope(IReadOnlyList<string>? Ids, string? Username, string? RealmName, bool Owner, bool WithLimitedBy = false);

/// <summary>
/// ES's ManageOwnApiKeyClusterPrivilege: a subject holding only manage_own_api_key may get or invalidate keys only when
/// the request itself names them as its own — a user with owner=true, or with its own username and realm_name; an API
/// key only by its own id (a key owns no other key, and may not see limited_by). Anything wider is a 403, as in ES.
/// </summary>
public static class OwnApiKeys
{
    public static bool Covers(AuthenticatedSubject subject, ApiKeyScope scope)
    {
        if (subject.ApiKey is { } key)
            return !scope.WithLimitedBy && scope.Ids is { Count: > 0 } ids && ids.All(id => id == key.Id);
        return scope.Owner || (scope.Username == subject.Username && scope.RealmName == subject.UserRealm.Name);
    }
}
