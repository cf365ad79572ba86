using TrainedModelsOrleans.Grains.Errors;

namespace TrainedModelsOrleans.Api.Security;

/// <summary>
/// Slots for PBKDF2 with a bounded queue behind them: at most <c>slots</c> computations at once, <c>queue</c> more
/// waiting, beyond that a 429 at once. Verifying passwords and verifying API keys have one each, so a flood of wrong
/// passwords never delays a key's verification (hashing a new secret, for a user or a key, takes a password turn).
/// </summary>
public sealed class HashingTurns(int slots, int queue) : IDisposable
{
    private readonly SemaphoreSlim _slots = new(slots);
    private int _waiting;

    public async Task<T> RunAsync<T>(Func<T> hashing, CancellationToken cancellationToken)
    {
        if (Interlocked.Increment(ref _waiting) > slots + queue)
        {
            Interlocked.Decrement(ref _waiting);
            throw new ElasticsearchException(429, "es_rejected_execution_exception",
                "rejected execution of credential verification: too many verifications waiting");
        }
        try
        {
            await _slots.WaitAsync(cancellationToken);
            try
            {
                return hashing();
            }
            finally
            {
                _slots.Release();
            }
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }
    }

    public void Dispose() => _slots.Dispose();
}
