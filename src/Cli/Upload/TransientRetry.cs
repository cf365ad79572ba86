using TrainedModelsOrleans.Cli.Service;

namespace TrainedModelsOrleans.Cli.Upload;

/// <summary>Why one attempt is tried again, for the progress display.</summary>
public readonly record struct RetryNotice(int FailedAttempt, TimeSpan Delay, string Why);

/// <summary>Runs a request under a <see cref="RetryPolicy"/>: a plain bounded loop, so what happens is read in one place.</summary>
public sealed class TransientRetry(RetryPolicy policy, Func<TimeSpan, CancellationToken, Task>? delay = null)
{
    private readonly Func<TimeSpan, CancellationToken, Task> _delay = delay ?? Task.Delay;

    /// <summary>
    /// The first answer that is not transient, or the last one when every attempt failed; a connection error on the
    /// last attempt throws <see cref="ServiceUnreachableException"/>.
    /// </summary>
    public async Task<ServiceAnswer> SendAsync(string what, Func<CancellationToken, Task<ServiceAnswer>> send,
        Action<RetryNotice>? onRetry, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            string why;
            try
            {
                var answer = await send(cancellationToken);
                if (!RetryPolicy.IsTransient(answer) || attempt >= policy.MaxAttempts) return answer;
                why = $"[{answer.Status}] {answer.Reason}";
            }
            catch (Exception e) when (RetryPolicy.IsTransient(e, cancellationToken))
            {
                if (attempt >= policy.MaxAttempts) throw new ServiceUnreachableException(what, e);
                why = e.Message;
            }
            var wait = policy.DelayAfter(attempt);
            onRetry?.Invoke(new RetryNotice(attempt, wait, why));
            await _delay(wait, cancellationToken);
        }
    }
}
