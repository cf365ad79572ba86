using Orleans;
using Orleans.Concurrency;

namespace TrainedModelsOrleans.Grains.Security;

/// <summary>
/// The users and API keys of the cluster (key "security"), in one grain state row. The HTTP layer hashes and verifies
/// passwords and keys on its own node (PBKDF2 never runs inside this grain's turns) and caches what it verified, so
/// this grain is read only when a node meets a credential it has not verified lately, never per inference.
/// </summary>
public interface ISecurityRealmGrain : IGrainWithStringKey
{
    public const string Key = "security";

    /// <summary>
    /// The realm's version, moved by every change to users or keys: each node polls it and forgets what it verified
    /// when it moves. Interleaved: a poll never waits behind a write.
    /// </summary>
    [AlwaysInterleave]
    Task<long> GetVersion();

    Task<StoredUser?> GetUser(string username);

    Task<IReadOnlyList<StoredUser>> GetUsers();

    /// <summary>Creates or replaces a user; a null password hash keeps the existing one. True when it was created.</summary>
    Task<bool> PutUser(StoredUser user);

    /// <summary>False when there was no such user.</summary>
    Task<bool> DeleteUser(string username);

    /// <summary>False when there is no such user.</summary>
    Task<bool> ChangePassword(string username, string passwordHash);

    /// <summary>
    /// Stores the reserved elastic user's password hash: always when <paramref name="replace"/>, else only when it has none
    /// yet. True when this call stored it (so of two nodes starting at once, one prints the generated password).
    /// </summary>
    Task<bool> SetElasticPassword(string passwordHash, bool replace);

    Task CreateApiKey(StoredApiKey key);

    Task<StoredApiKey?> GetApiKey(string id);

    Task<IReadOnlyList<StoredApiKey>> FindApiKeys(ApiKeyFilter filter);

    Task<ApiKeyInvalidation> InvalidateApiKeys(ApiKeyFilter filter);
}
