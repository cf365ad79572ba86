using Orleans;
using Orleans.Runtime;

namespace TrainedModelsOrleans.Grains.Security;

/// <summary>The realm's users and API keys, one state row (hashes only; see StoredUser and StoredApiKey).</summary>
[GenerateSerializer(GenerateFieldIds = GenerateFieldIds.PublicProperties), Alias("tmo.SecurityRealm")]
public sealed class SecurityRealm
{
    public Dictionary<string, StoredUser> Users { get; set; } = new(StringComparer.Ordinal);
    public Dictionary<string, StoredApiKey> ApiKeys { get; set; } = new(StringComparer.Ordinal);
    /// <summary>Moves on every change to users or keys: nodes compare it to drop what they verified before the change.</summary>
    public long Version { get; set; }
}

/// <summary>Keeps the users and API keys; hashing, verification and the rules on requests live in the callers.</summary>
public sealed class SecurityRealmGrain([PersistentState("security-realm")] IPersistentState<SecurityRealm> realm, TimeProvider time)
    : Grain, ISecurityRealmGrain
{
    public const string ElasticUser = "elastic";

    /// <summary>The realm name of the reserved elastic user's keys (Api's Realm.Reserved).</summary>
    private const string ReservedRealm = "reserved";

    private SecurityRealm State => realm.State;

    Task<long> ISecurityRealmGrain.GetVersion() => Task.FromResult(State.Version);

    /// <summary>
    /// Every change goes through here. The version moves unless the change cannot make anything a node verified stale
    /// (a new API key: its id was unknown, and unknown ids are never remembered), so automation creating keys does not
    /// clear every node's cache. A write that fails deactivates the grain: the change it made in memory must not be
    /// served (a revoked key working again after the next activation, say); the next call reads the stored row.
    /// </summary>
    private async Task<long> WriteChangeAsync(bool movesVersion = true)
    {
        if (movesVersion) State.Version++;
        try
        {
            await realm.WriteStateAsync();
        }
        catch
        {
            DeactivateOnIdle();
            throw;
        }
        return State.Version;
    }

    Task<StoredUser?> ISecurityRealmGrain.GetUser(string username) => Task.FromResult(State.Users.GetValueOrDefault(username));

    Task<IReadOnlyList<StoredUser>> ISecurityRealmGrain.GetUsers() =>
        Task.FromResult<IReadOnlyList<StoredUser>>(State.Users.Values.OrderBy(u => u.Username, StringComparer.Ordinal).ToArray());

    async Task<bool> ISecurityRealmGrain.PutUser(StoredUser user)
    {
        var existing = State.Users.GetValueOrDefault(user.Username);
        State.Users[user.Username] = user.PasswordHash is null && existing is not null ? user with { PasswordHash = existing.PasswordHash } : user;
        await WriteChangeAsync();
        return existing is null;
    }

    async Task<bool> ISecurityRealmGrain.DeleteUser(string username)
    {
        if (!State.Users.Remove(username)) return false;
        // Keys find their owner by name: left valid, they would come back to life with a new user of the same name.
        InvalidateKeys(State.ApiKeys.Values.Where(k => k.Username == username && k.Realm != ReservedRealm));
        await WriteChangeAsync();
        return true;
    }

    async Task<bool> ISecurityRealmGrain.ChangePassword(string username, string passwordHash)
    {
        if (!State.Users.TryGetValue(username, out var user)) return false;
        State.Users[username] = user with { PasswordHash = passwordHash };
        await WriteChangeAsync();
        return true;
    }

    async Task<bool> ISecurityRealmGrain.SetElasticPassword(string passwordHash, bool replace)
    {
        var existing = State.Users.GetValueOrDefault(ElasticUser);
        if (existing?.PasswordHash is not null && !replace) return false;
        State.Users[ElasticUser] = (existing ?? new StoredUser { Username = ElasticUser, Roles = [BuiltinRoles.Superuser] })
            with { PasswordHash = passwordHash };
        await WriteChangeAsync();
        return true;
    }

    async Task ISecurityRealmGrain.CreateApiKey(StoredApiKey key)
    {
        State.ApiKeys.Add(key.Id, key);
        await WriteChangeAsync(movesVersion: false);
    }

    Task<StoredApiKey?> ISecurityRealmGrain.GetApiKey(string id) => Task.FromResult(State.ApiKeys.GetValueOrDefault(id));

    Task<IReadOnlyList<StoredApiKey>> ISecurityRealmGrain.FindApiKeys(ApiKeyFilter filter) =>
        Task.FromResult<IReadOnlyList<StoredApiKey>>(State.ApiKeys.Values.Where(filter.Matches)
            .OrderBy(k => k.Creation).ThenBy(k => k.Id, StringComparer.Ordinal).ToArray());

    private ApiKeyInvalidation InvalidateKeys(IEnumerable<StoredApiKey> keys)
    {
        var now = time.GetUtcNow();
        List<string> invalidated = [], previously = [];
        foreach (var key in keys.ToArray())
        {
            if (key.Invalidated)
            {
                previously.Add(key.Id);
                continue;
            }
            State.ApiKeys[key.Id] = key with { Invalidated = true, InvalidationTime = now };
            invalidated.Add(key.Id);
        }
        return new ApiKeyInvalidation(invalidated, previously);
    }

    async Task<ApiKeyInvalidation> ISecurityRealmGrain.InvalidateApiKeys(ApiKeyFilter filter)
    {
        var result = InvalidateKeys(State.ApiKeys.Values.Where(filter.Matches));
        if (result.Invalidated.Count > 0) await WriteChangeAsync();
        return result;
    }
}
