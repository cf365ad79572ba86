using Orleans;

namespace TrainedModelsOrleans.Grains.Security;

/// <summary>
/// A user of the native realm (or the reserved <c>elastic</c> user), as stored: the password only as a PBKDF2 hash
/// (see PasswordHashing), never the password.
/// </summary>
[GenerateSerializer(GenerateFieldIds = GenerateFieldIds.PublicProperties), Alias("tmo.StoredUser")]
public sealed record StoredUser
{
    public required string Username { get; init; }
    public string? PasswordHash { get; init; }
    public IReadOnlyList<string> Roles { get; init; } = [];
    public string? FullName { get; init; }
    public string? Email { get; init; }
    /// <summary>The user's metadata object as JSON text (ES keeps it opaque).</summary>
    public string MetadataJson { get; init; } = "{}";
    public bool Enabled { get; init; } = true;
}

/// <summary>A role descriptor of an API key: the cluster privileges (names or action patterns) it allows.</summary>
[GenerateSerializer(GenerateFieldIds = GenerateFieldIds.PublicProperties), Alias("tmo.ApiKeyRole")]
public sealed record ApiKeyRole(string Name, IReadOnlyList<string> Cluster);

/// <summary>An API key as stored: its secret only as a hash; the owner whose privileges bound it, and its own limits.</summary>
[GenerateSerializer(GenerateFieldIds = GenerateFieldIds.PublicProperties), Alias("tmo.StoredApiKey")]
public sealed record StoredApiKey
{
    public required string Id { get; init; }
    public required string Name { get; init; }
    public required string KeyHash { get; init; }
    public required string Username { get; init; }
    public required string Realm { get; init; }
    public required DateTimeOffset Creation { get; init; }
    public DateTimeOffset? Expiration { get; init; }
    public bool Invalidated { get; init; }
    public DateTimeOffset? InvalidationTime { get; init; }
    /// <summary>The key's own role descriptors; empty means the owner's privileges (as ES: role_descriptors {}).</summary>
    public IReadOnlyList<ApiKeyRole> RoleDescriptors { get; init; } = [];
    /// <summary>The owner's roles when the key was made: ES's limited_by, which the key can never exceed.</summary>
    public IReadOnlyList<string> LimitedByRoles { get; init; } = [];
    public string MetadataJson { get; init; } = "{}";
}

/// <summary>
/// GET and DELETE _security/api_key's filters (id, name with a trailing or sole '*', username, realm_name).
/// Null matches anything.
/// </summary>
[GenerateSerializer(GenerateFieldIds = GenerateFieldIds.PublicProperties), Alias("tmo.ApiKeyFilter")]
public sealed record ApiKeyFilter
{
    public IReadOnlyList<string>? Ids { get; init; }
    public string? Name { get; init; }
    public string? Username { get; init; }
    public string? RealmName { get; init; }

    public bool Matches(StoredApiKey key) =>
        (Ids is null || Ids.Contains(key.Id, StringComparer.Ordinal))
        && (Name is null || NameMatches(Name, key.Name))
        && (Username is null || string.Equals(Username, key.Username, StringComparison.Ordinal))
        && (RealmName is null || string.Equals(RealmName, key.Realm, StringComparison.Ordinal));

    /// <summary>ES accepts "*" (all) or a prefix ending in '*' for the name; otherwise it is exact.</summary>
    private static bool NameMatches(string pattern, string name) =>
        pattern == "*" || (pattern.EndsWith('*') ? name.StartsWith(pattern[..^1], StringComparison.Ordinal) : pattern == name);
}

/// <summary>What an invalidation did: keys invalidated now, and those that already were.</summary>
[GenerateSerializer(GenerateFieldIds = GenerateFieldIds.PublicProperties), Alias("tmo.ApiKeyInvalidation")]
public sealed record ApiKeyInvalidation(IReadOnlyList<string> Invalidated, IReadOnlyList<string> PreviouslyInvalidated);
