using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
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
/// the header (with a key of this process), so repeated requests — every _infer — never run PBKDF2 again; a failed one is
/// remembered briefly too. PBKDF2 runs at most MaxConcurrentHashing at a time, with a bounded queue behind it, so
/// a flood of wrong passwords waits its turn instead of taking every core.
/// </summary>
public sealed class Authenticator(IGrainFactory grains, IOptions<SecurityOptions> options, TimeProvider time)
{
    private readonly SecurityOptions _options = options.Value;
    private readonly ConcurrentDictionary<string, CacheEntry> _cache = new(StringComparer.Ordinal);
    private readonly byte[] _cacheSalt = RandomNumberGenerator.GetBytes(16);
    private readonly SemaphoreSlim _hashing = new(options.Value.MaxConcurrentHashing);
    private int _queued;

    /// <summary>A user's stored hash when the user does not exist, so an unknown name costs what a known one does.</summary>
    private readonly Lazy<string> _decoyHash = new(() => PasswordHashing.Hash(Guid.NewGuid().ToString(), options.Value.PasswordHashIterations));

    private sealed record CacheEntry(AuthenticationOutcome Outcome, DateTimeOffset Until);

    private ISecurityRealmGrain Realm => grains.GetGrain<ISecurityRealmGrain>(ISecurityRealmGrain.Key);

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

        var now = time.GetUtcNow();
        var cacheKey = CacheKey(header!);
        if (_cache.TryGetValue(cacheKey, out var cached) && cached.Until > now)
        {
            // An API key's expiry holds even while its verification is cached.
            if (cached.Outcome is AuthenticationOutcome.Authenticated { Subject.Expiration: { } expires } && expires <= now)
                return new AuthenticationOutcome.WrongCredentials();
            return cached.Outcome;
        }

        var outcome = credential switch
        {
            Credential.UserPassword user => await VerifyUserAsync(user, cancellationToken),
            Credential.ApiKey key => await VerifyApiKeyAsync(key, now, cancellationToken),
            _ => new AuthenticationOutcome.WrongCredentials(),
        };
        Remember(cacheKey, outcome, now);
        return outcome;
    }

    /// <summary>Forgets every verification: a user, password or key changed through this node.</summary>
    public void Forget() => _cache.Clear();

    private async Task<AuthenticationOutcome> VerifyUserAsync(Credential.UserPassword credential, CancellationToken cancellationToken)
    {
        var user = await Realm.GetUser(credential.Username);
        var verified = await VerifyAsync(credential.Password, user?.PasswordHash ?? _decoyHash.Value, cancellationToken);
        return verified && user is { Enabled: true }
            ? new AuthenticationOutcome.Authenticated(AuthenticatedSubject.ForUser(user))
            : new AuthenticationOutcome.WrongUserPassword(credential.Username);
    }

    private async Task<AuthenticationOutcome> VerifyApiKeyAsync(Credential.ApiKey credential, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var key = await Realm.GetApiKey(credential.Id);
        if (key is null || key.Invalidated || key.Expiration <= now) return new AuthenticationOutcome.WrongCredentials();
        if (!await VerifyAsync(credential.Key, key.KeyHash, cancellationToken)) return new AuthenticationOutcome.WrongCredentials();
        var owner = await Realm.GetUser(key.Username);
        return owner is { Enabled: true }
            ? new AuthenticationOutcome.Authenticated(AuthenticatedSubject.ForApiKey(key, owner))
            : new AuthenticationOutcome.WrongCredentials();
    }

    /// <summary>One PBKDF2 verification, in its turn.</summary>
    public async Task<bool> VerifyAsync(string secret, string storedHash, CancellationToken cancellationToken)
    {
        if (Interlocked.Increment(ref _queued) > _options.MaxConcurrentHashing + _options.MaxQueuedHashing)
        {
            Interlocked.Decrement(ref _queued);
            throw new ElasticsearchException(429, "es_rejected_execution_exception",
                "rejected execution of credential verification: too many verifications waiting");
        }
        try
        {
            await _hashing.WaitAsync(cancellationToken);
            try
            {
                return PasswordHashing.Verify(secret, storedHash);
            }
            finally
            {
                _hashing.Release();
            }
        }
        finally
        {
            Interlocked.Decrement(ref _queued);
        }
    }

    /// <summary>Hashes a new password or key in a hashing turn, like a verification.</summary>
    public async Task<string> HashAsync(string secret, int iterations, CancellationToken cancellationToken)
    {
        await _hashing.WaitAsync(cancellationToken);
        try
        {
            return PasswordHashing.Hash(secret, iterations);
        }
        finally
        {
            _hashing.Release();
        }
    }

    private void Remember(string cacheKey, AuthenticationOutcome outcome, DateTimeOffset now)
    {
        // Bounded: a flood of distinct credentials empties the cache rather than growing it.
        if (_cache.Count >= _options.AuthenticationCacheSize) _cache.Clear();
        var ttl = outcome is AuthenticationOutcome.Authenticated ? _options.AuthenticationCacheTtl : _options.FailedAuthenticationCacheTtl;
        _cache[cacheKey] = new CacheEntry(outcome, now + ttl);
    }

    private string CacheKey(string header) => Convert.ToBase64String(HMACSHA256.HashData(_cacheSalt, Encoding.UTF8.GetBytes(header)));
}
