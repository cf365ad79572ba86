using TrainedModelsOrleans.Grains.Security;

namespace TrainedModelsOrleans.Api.Security;

/// <summary>The Security section of the configuration, with its defaults.</summary>
public sealed class SecurityOptions
{
    /// <summary>On by default, as in Elasticsearch 8; false lets every request through (a warning is logged at start).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// The elastic user's password. Applied at every start when set (so changing the setting changes the password); when
    /// unset and no password is stored yet, one is generated and printed once.
    /// </summary>
    public string? ElasticPassword { get; set; }

    public int PasswordHashIterations { get; set; } = PasswordHashing.DefaultPasswordIterations;

    public int ApiKeyHashIterations { get; set; } = PasswordHashing.DefaultApiKeyIterations;

    /// <summary>
    /// How long a node trusts a credential it verified (ES's realm cache). A change made through this node clears its
    /// cache at once; other nodes clear theirs when their poll of the realm's version sees it (RealmVersionPollInterval).
    /// </summary>
    public TimeSpan AuthenticationCacheTtl { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How often each node asks the realm whether users or keys changed: the delay before another node's change holds here.</summary>
    public TimeSpan RealmVersionPollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a failed credential is answered from the cache, so a flood of one wrong password costs one hash.</summary>
    public TimeSpan FailedAuthenticationCacheTtl { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Verified credentials a node remembers; beyond this the least recently used are evicted.</summary>
    public int AuthenticationCacheSize { get; set; } = 10_000;

    /// <summary>Failed credentials a node remembers (apart from the verified ones, which no flood of failures can evict).</summary>
    public int FailedAuthenticationCacheSize { get; set; } = 1_000;

    /// <summary>
    /// PBKDF2 computations run at once on a node for passwords, and as many again for API keys (the rest wait): a flood of
    /// bad passwords cannot take every core, nor delay API keys.
    /// </summary>
    public int MaxConcurrentHashing { get; set; } = Math.Max(1, Environment.ProcessorCount / 2);

    /// <summary>Verifications that may wait for a turn; beyond this a request is refused with 429 at once.</summary>
    public int MaxQueuedHashing { get; set; } = 1_000;
}
