using System.Threading.RateLimiting;
using TrainedModelsOrleans.Grains.Errors;

namespace TrainedModelsOrleans.Api.Security;

/// <summary>
/// Turns for PBKDF2 with a bounded queue behind them (.NET's <see cref="ConcurrencyLimiter"/>): at most <c>slots</c>
/// computations at once, <c>queue</c> more waiting in order, beyond that ES's 429 at once. Verifying passwords and
/// verifying API keys have one each, so a flood of wrong passwords never delays a key's verification (hashing a new
/// secret, for a user or a key, takes a password turn).
/// </summary>
public sealed class HashingTurns : IDisposable
{
    private readonly ConcurrencyLimiter _limiter;

    public HashingTurns(int slots, int queue)
    {
        // Checked when the node starts (the authenticator is made then): with no turn every login would fail.
        if (slots < 1) throw new InvalidOperationException($"Security:MaxConcurrentHashing must be at least 1; it is {slots}");
        if (queue < 0) throw new InvalidOperationException($"Security:MaxQueuedHashing must not be negative; it is {queue}");
        _limiter = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = slots, QueueLimit = queue, QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });
    }

    public async Task<T> RunAsync<T>(Func<T> hashing, CancellationToken cancellationToken)
    {
        using var turn = await _limiter.AcquireAsync(1, cancellationToken);
        if (!turn.IsAcquired)
            throw new ElasticsearchException(429, "es_rejected_execution_exception",
                "rejected execution of credential verification: too many verifications waiting");
        return hashing();
    }

    public void Dispose() => _limiter.Dispose();
}
