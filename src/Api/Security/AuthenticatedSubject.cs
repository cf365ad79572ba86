using TrainedModelsOrleans.Grains.Security;

namespace TrainedModelsOrleans.Api.Security;

/// <summary>An authentication realm as ES reports it (name and type).</summary>
public sealed record Realm(string Name, string Type)
{
    public static readonly Realm Reserved = new("reserved", "reserved");
    public static readonly Realm Native = new("default_native", "native");
    public static readonly Realm ApiKey = new("_es_api_key", "_es_api_key");
}

/// <summary>Who a request is: the user, the realm that vouched for them, the API key used if any, and what they may do.</summary>
public sealed record AuthenticatedSubject(StoredUser User, Realm UserRealm, StoredApiKey? ApiKey, ClusterAccess Access)
{
    public string Username => User.Username;

    /// <summary>ES's wording of the subject in a 403: "user [bob] with effective roles [...]" or "API key id [x] of user [bob]".</summary>
    public string Description => ApiKey is null
        ? $"user [{Username}] with effective roles [{string.Join(",", User.Roles)}]"
        : $"API key id [{ApiKey.Id}] of user [{Username}]";

    /// <summary>When an API key's validity ends (null: it does not expire, or this is a user).</summary>
    public DateTimeOffset? Expiration => ApiKey?.Expiration;

    public static AuthenticatedSubject ForUser(StoredUser user) =>
        new(user, user.Username == SecurityRealmGrain.ElasticUser ? Realm.Reserved : Realm.Native, null, new ClusterAccess(user.Roles));

    public static AuthenticatedSubject ForApiKey(StoredApiKey key, StoredUser owner) =>
        // Bounded by the owner's roles now, by those when the key was made (ES's limited-by), and by its own descriptors.
        new(owner, key.Realm == Realm.Reserved.Name ? Realm.Reserved : Realm.Native, key,
            new ClusterAccess(owner.Roles, key.RoleDescriptors, key.LimitedByRoles));
}
