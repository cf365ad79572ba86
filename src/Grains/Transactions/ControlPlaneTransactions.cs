using System.Runtime.ExceptionServices;
using Microsoft.Extensions.Logging;
using Orleans;
using Orleans.Transactions;
using TrainedModelsOrleans.Grains.Errors;

namespace TrainedModelsOrleans.Grains.Transactions;

/// <summary>
/// Runs a control-plane change as one Orleans transaction over every grain it touches, so that it commits whole or
/// not at all, and keeps Orleans' transaction exceptions away from callers: a rule a participant refused arrives as
/// its ElasticsearchException; contention (lock conflicts, a participant briefly unreachable) is retried with the
/// change computed afresh; what cannot be settled becomes an Elasticsearch error, never a 500.
/// </summary>
public sealed partial class ControlPlaneTransactions(ITransactionClient transactions, ILogger<ControlPlaneTransactions> logger)
{
    /// <summary>
    /// No new attempt starts after this: it spans Orleans' failure detection (a killed silo is declared dead in 1.5–3 s)
    /// several times over, so a change outlives a node dying under it; and with the last attempt's own bounds (a lock
    /// wait of 4 s, a prepare of 4 s) a change answers well inside Orleans' 30 s response timeout.
    /// </summary>
    private static readonly TimeSpan RetryBudget = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Runs <paramref name="change"/> in a new transaction, with write locks taken on every read (a read-modify-write
    /// never has to upgrade a lock another transaction also holds); retried while it aborts for reasons of contention.
    /// </summary>
    public Task<T> RunAsync<T>(Func<Task<T>> change) => RunAsync(change, exclusiveLocks: true, retry: true);

    /// <summary>A read: shared locks, so reads never queue behind one another.</summary>
    public Task<T> ReadAsync<T>(Func<Task<T>> read) => RunAsync(read, exclusiveLocks: false, retry: true);

    /// <summary>
    /// A read with shared locks in one attempt, no retries: for a reader that has something better to do than wait
    /// out a lock another transaction holds (a silo's inference view keeps its last one; a pre-check is repeated
    /// by the change itself). Fails as a change whose retries ran out: a refusal as itself, else its cause or a 429.
    /// </summary>
    public Task<T> ReadOnceAsync<T>(Func<Task<T>> read) => RunAsync(read, exclusiveLocks: false, retry: false);

    private async Task<T> RunAsync<T>(Func<Task<T>> change, bool exclusiveLocks, bool retry)
    {
        var started = TimeProvider.System.GetTimestamp();
        for (var attempt = 1; ; attempt++)
        {
            T result = default!;
            try
            {
                await transactions.RunTransaction(TransactionOption.Create, async () => { result = await change(); }, exclusiveLocks);
                return result;
            }
            catch (OrleansTransactionAbortedException aborted)
            {
                if (Refusal(aborted) is { } refusal) ExceptionDispatchInfo.Throw(refusal);
                if (!retry || TimeProvider.System.GetElapsedTime(started) > RetryBudget)
                {
                    if (Cause(aborted) is { } cause) ExceptionDispatchInfo.Throw(cause);
                    throw Busy(attempt, aborted);
                }
                LogRetry(logger, attempt, aborted.GetType().Name, (aborted.InnerException ?? aborted).Message);
                await Task.Delay(Backoff(attempt));
            }
            catch (OrleansTransactionInDoubtException inDoubt)
            {
                throw new ElasticsearchException(503, "status_exception",
                    $"the outcome of the change is not known yet (transaction {inDoubt.TransactionId} in doubt); read the state before retrying");
            }
        }
    }

    public Task RunAsync(Func<Task> change) => RunAsync(async () =>
    {
        await change();
        return true;
    });

    /// <summary>A participant (or the change itself) refused with an Elasticsearch rule: that is the answer.</summary>
    private static ElasticsearchException? Refusal(Exception error)
    {
        for (var e = error.InnerException; e is not null; e = e.InnerException)
            if (e is ElasticsearchException refusal) return refusal;
        return null;
    }

    /// <summary>A cause that is not the transaction machinery itself (e.g. a node that is gone), to report as itself.</summary>
    private static Exception? Cause(Exception error)
    {
        for (var e = error.InnerException; e is not null; e = e.InnerException)
            if (e is not OrleansTransactionException) return e;
        return null;
    }

    private static ElasticsearchException Busy(int attempts, Exception last) =>
        new(429, "es_rejected_execution_exception",
            $"the change could not be committed after {attempts} attempts because of concurrent changes ({last.GetType().Name}); retry");

    private static TimeSpan Backoff(int attempt) =>
        TimeSpan.FromMilliseconds(Math.Min(1000, 20 * (1 << Math.Min(attempt, 6))) * (0.5 + Random.Shared.NextDouble()));

    [LoggerMessage(Level = LogLevel.Debug, Message = "Transaction attempt {Attempt} aborted ({Kind}: {Reason}); retrying")]
    private static partial void LogRetry(ILogger logger, int attempt, string kind, string reason);
}
