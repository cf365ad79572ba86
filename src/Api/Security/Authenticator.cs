using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;
using Orleans;
using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Security;

namespace TrainedModelsOrleans.Api.Security;

/// <summary>What authenticating a request's header gave.</summary>
public abstract record AuthenticationOutcome
{
    public sealed record Authenticated(AuthenticatedSubject Subject) : AuthenticationOutcome;
    public sealed record MissingCredentials : AuthenticationOutcome;
    /// <summary>Basic credentials that did not verify: ES names the user.</summary>
    public sealed record WrongUserPassword(string Username) : AuthenticationOutcome;
    /// <summary>An API key (or a header) that did not verify.</summary>
    public sealed record WrongCredentials : AuthenticationOutcome;
}

/// <summary>
/// Verifies credentials with bounded work. A credential verified lately is answered from a cache keyed by an HMAC-SHA256 of
/// the header (with a key of this process), so repeated requests — every _infer — never run PBKDF2 again. Failures that
/// cost a hash are remembered briefly in a cache of their own, so no flood of bad credentials can evict a good one;
/// refusals that cost nothing (an unknown or invalidated key id) are not remembered at all. Both caches evict the least
/// recently used entries when full. PBKDF2 runs in bounded turns (one set for passwords, one for API keys). There is no
/// per-username lockout: it would let anyone who knows a username (elastic) lock its owner out; the bounded turns keep
/// a flood's cost to the node fixed instead, as ES's bounded thread pool does.
/// A change to users or keys clears the cache at once on the node that made it, and within RealmVersionPollInterval
/// on the others, which poll the realm's version.
/// </summary>
public sealed class Authenticator : IDisposable
{
    private readonly IGrainFactory _grains;
    private readonly TimeProvider _time;
    private readonly SecurityOptions _options;
    private readonly MemoryCache _verified;
    private readonly MemoryCache _failed;
    private readonly byte[] _cacheSalt = RandomNumberGenerator.GetBytes(16);
    private readonly HashingTurns _passwordTurns;
    private readonly HashingTurns _apiKeyTurns;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lazy<string> _decoyHash;
    private long _generation;
    private long _realmVersion = -1;
    private long _verifications;
    private int _watching;

    public Authenticator(IGrainFactory grains, IOptions<SecurityOptions> options, TimeProvider time)
    {
        _grains = grains;
        _time = time;
        _options = options.Value;
        _verified = new MemoryCache(new MemoryCacheOptions { SizeLimit = _options.AuthenticationCacheSize });
        _failed = new MemoryCache(new MemoryCacheOptions { SizeLimit = _options.FailedAuthenticationCacheSize });
        _passwordTurns = new HashingTurns(_options.MaxConcurrentHashing, _options.MaxQueuedHashing);
        _apiKeyTurns = new HashingTurns(_options.MaxConcurrentHashing, _options.MaxQueuedHashing);
        // A user's stored hash when the user does not exist, so an unknown name costs what a known one does.
        _decoyHash = new(() => PasswordHashing.Hash(Guid.NewGuid().ToString(), _options.PasswordHashIterations));
    }

    private sealed record CacheEntry(AuthenticationOutcome Outcome, DateTimeOffset Until);

    private ISecurityRealmGrain Realm => _grains.GetGrain<ISecurityRealmGrain>(ISecurityRealmGrain.Key);

    /// <summary>PBKDF2 verifications this node has run: what the cache saves (tests observe it).</summary>
    public long Verifications => Interlocked.Read(ref _verifications);

    /// <summary>The realm version this node's poll last saw (-1 before the first): tests wait for it.</summary>
    public long RealmVersion => Interlocked.Read(ref _realmVersion);

    public async ValueTask<AuthenticationOutcome> AuthenticateAsync(string? header, CancellationToken cancellationToken)
    {
        var credential = AuthorizationHeader.Parse(header);
        switch (credential)
        {
            case Credential.None:
                return new AuthenticationOutcome.MissingCredentials();
            case Credential.Malformed:
                return new AuthenticationOutcome.WrongCredentials();
        }
        WatchRealm();

        var now = _time.GetUtcNow();
        var cacheKey = CacheKey(header!);
        if ((_verified.Get<CacheEntry>(cacheKey) ?? _failed.Get<CacheEntry>(cacheKey)) is { } cached && cached.Until > now)
        {
            // An API key's expiry holds even while its verification is cached.
            if (cached.Outcome is AuthenticationOutcome.Authenticated { Subject.Expiration: { } expires } && expires <= now)
                return new AuthenticationOutcome.WrongCredentials();
            return cached.Outcome;
        }

        // Read before the realm is: a change after this point makes the result unfit to remember.
        var generation = Interlocked.Read(ref _generation);
        var (outcome, costly) = credential switch
        {
            Credential.UserPassword user => (await VerifyUserAsync(user, cancellationToken), true),
            Credential.ApiKey key => await VerifyApiKeyAsync(key, now, cancellationToken),
            _ => (new AuthenticationOutcome.WrongCredentials(), false),
        };
        if (costly) Remember(cacheKey, outcome, now, generation);
        return outcome;
    }

    /// <summary>Forgets every verification: a user, password or key changed (through this node, or seen by the poll).</summary>
    public void Forget()
    {
        Interlocked.Increment(ref _generation);
        _verified.Clear();
        _failed.Clear();
    }

    private async Task<AuthenticationOutcome> VerifyUserAsync(Credential.UserPassword credential, CancellationToken cancellationToken)
    {
        var user = await Realm.GetUser(credential.Username);
        var verified = await VerifyAsync(credential.Password, user?.PasswordHash ?? _decoyHash.Value, cancellationToken);
        if (verified && user is { Enabled: true }) return new AuthenticationOutcome.Authenticated(AuthenticatedSubject.ForUser(user));
        return new AuthenticationOutcome.WrongUserPassword(credential.Username);
    }

    /// <summary>The outcome, and whether it cost a hash (only those are worth remembering).</summary>
    private async Task<(AuthenticationOutcome, bool)> VerifyApiKeyAsync(Credential.ApiKey credential, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var key = await Realm.GetApiKey(credential.Id);
        if (key is null || key.Invalidated || key.Expiration <= now) return (new AuthenticationOutcome.WrongCredentials(), false);
        if (!await _apiKeyTurns.RunAsync(() => Verify(credential.Key, key.KeyHash), cancellationToken))
            return (new AuthenticationOutcome.WrongCredentials(), true);
        var owner = await Realm.GetUser(key.Username);
        return owner is { Enabled: true }
            ? (new AuthenticationOutcome.Authenticated(AuthenticatedSubject.ForApiKey(key, owner)), true)
            : (new AuthenticationOutcome.WrongCredentials(), true);
    }

    /// <summary>One PBKDF2 verification of a password, in its turn.</summary>
    public Task<bool> VerifyAsync(string secret, string storedHash, CancellationToken cancellationToken) =>
        _passwordTurns.RunAsync(() => Verify(secret, storedHash), cancellationToken);

    /// <summary>Hashes a new password or key in a hashing turn, like a verification.</summary>
    public Task<string> HashAsync(string secret, int iterations, CancellationToken cancellationToken) =>
        _passwordTurns.RunAsync(() => PasswordHashing.Hash(secret, iterations), cancellationToken);

    private bool Verify(string secret, string storedHash)
    {
        Interlocked.Increment(ref _verifications);
        return PasswordHashing.Verify(secret, storedHash);
    }

    private void Remember(string cacheKey, AuthenticationOutcome outcome, DateTimeOffset now, long generation)
    {
        var (cache, ttl) = outcome is AuthenticationOutcome.Authenticated
            ? (_verified, _options.AuthenticationCacheTtl)
            : (_failed, _options.FailedAuthenticationCacheTtl);
        if (Interlocked.Read(ref _generation) != generation) return;
        cache.Set(cacheKey, new CacheEntry(outcome, now + ttl), new MemoryCacheEntryOptions { Size = 1, AbsoluteExpirationRelativeToNow = ttl });
        // A Forget between the check and the Set: take it back rather than keep a stale answer.
        if (Interlocked.Read(ref _generation) != generation) cache.Remove(cacheKey);
    }

    private string CacheKey(string header) => Convert.ToBase64String(HMACSHA256.HashData(_cacheSalt, Encoding.UTF8.GetBytes(header)));

    /// <summary>Starts, once, the poll of the realm's version (at the first request, when the cluster client is up).</summary>
    private void WatchRealm()
    {
        if (Volatile.Read(ref _watching) == 0 && Interlocked.Exchange(ref _watching, 1) == 0)
            _ = Task.Run(() => PollRealmVersionAsync(_stopping.Token));
    }

    private async Task PollRealmVersionAsync(CancellationToken stopping)
    {
        using var timer = new PeriodicTimer(_options.RealmVersionPollInterval, _time);
        try
        {
            do
            {
                try
                {
                    var version = await Realm.GetVersion().WaitAsync(stopping);
                    if (Interlocked.Exchange(ref _realmVersion, version) != version) Forget();
                }
                catch (Exception error) when (error is not OperationCanceledException || !stopping.IsCancellationRequested)
                {
                    // The realm is unreachable for now: keep what was verified (as the cache would without the poll) and ask again.
                }
            }
            while (await timer.WaitForNextTickAsync(stopping));
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
    }

    public void Dispose()
    {
        _stopping.Cancel();
        _stopping.Dispose();
        _verified.Dispose();
        _failed.Dispose();
        _passwordTurns.Dispose();
        _apiKeyTurns.Dispose();
    }
}
