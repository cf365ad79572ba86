using TrainedModelsOrleans.Cli.Service;

namespace TrainedModelsOrleans.Cli.Upload;

/// <summary>
/// When a request is tried again: on a connection error, a client-side timeout, a 5xx or a 429 (the service's
/// "queue full" and "no capacity" answers pass), after a delay doubling from <see cref="FirstDelay"/> up to
/// <see cref="MaxDelay"/>, at most <see cref="MaxAttempts"/> times in all. Any other 4xx, and a failed TLS handshake, is final.
/// </summary>
public sealed record RetryPolicy(int MaxAttempts, TimeSpan FirstDelay, TimeSpan MaxDelay)
{
    public static readonly RetryPolicy Default = new(5, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(8));

    public static bool IsTransient(ServiceAnswer answer) => answer.Status >= 500 || answer.Status == 429;

    /// <summary>HttpClient's connection failures, and its own timeout (a TaskCanceledException not asked for by the caller).</summary>
    public static bool IsTransient(Exception exception, CancellationToken cancellationToken) => exception switch
    {
        // A TLS handshake that failed (an untrusted certificate, say) fails the same way next time.
        HttpRequestException { InnerException: System.Security.Authentication.AuthenticationException } => false,
        HttpRequestException => true,
        IOException => true,
        TaskCanceledException or TimeoutException => !cancellationToken.IsCancellationRequested,
        _ => false,
    };

    /// <summary>The wait after the <paramref name="failedAttempt"/>-th attempt failed (1-based).</summary>
    public TimeSpan DelayAfter(int failedAttempt)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(failedAttempt, 1);
        var doubled = FirstDelay.TotalMilliseconds * Math.Pow(2, Math.Min(failedAttempt - 1, 30));
        return TimeSpan.FromMilliseconds(Math.Min(doubled, MaxDelay.TotalMilliseconds));
    }
}
