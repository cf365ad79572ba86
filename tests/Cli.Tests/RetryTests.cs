using System.Net.Sockets;
using TrainedModelsOrleans.Cli.Service;
using TrainedModelsOrleans.Cli.Upload;
using Xunit;

namespace TrainedModelsOrleans.Cli.Tests;

public class RetryTests
{
    private static readonly RetryPolicy Policy = new(4, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(3));
    private static ServiceAnswer Answer(int status) => new(status, null, status == 200 ? "{}" : $"failure {status}");

    /// <summary>Records the waits instead of waiting.</summary>
    private sealed class Waits
    {
        public List<TimeSpan> Taken { get; } = [];
        public Task Delay(TimeSpan delay, CancellationToken _) { Taken.Add(delay); return Task.CompletedTask; }
    }

    [Fact]
    public void Delays_double_from_the_first_up_to_the_cap()
    {
        Assert.Equal(
            new[] { 500, 1000, 2000, 3000, 3000 }.Select(ms => TimeSpan.FromMilliseconds(ms)),
            Enumerable.Range(1, 5).Select(Policy.DelayAfter));
        Assert.Equal(TimeSpan.FromSeconds(8), RetryPolicy.Default.DelayAfter(100));
    }

    [Theory]
    [InlineData(500, true)]
    [InlineData(502, true)]
    [InlineData(503, true)]
    [InlineData(429, true)]
    [InlineData(400, false)]
    [InlineData(404, false)]
    [InlineData(409, false)]
    [InlineData(200, false)]
    public void Only_5xx_and_429_answers_are_transient(int status, bool transient) =>
        Assert.Equal(transient, RetryPolicy.IsTransient(Answer(status)));

    [Fact]
    public void A_connection_error_is_transient_but_a_refused_tls_certificate_is_not()
    {
        Assert.True(RetryPolicy.IsTransient(new HttpRequestException("Connection refused", new SocketException((int)SocketError.ConnectionRefused)), CancellationToken.None));
        Assert.False(RetryPolicy.IsTransient(new HttpRequestException("The SSL connection could not be established",
            new System.Security.Authentication.AuthenticationException("The remote certificate is invalid")), CancellationToken.None));
    }

    [Fact]
    public async Task A_5xx_then_a_connection_error_then_success_takes_three_attempts_and_two_waits()
    {
        var waits = new Waits();
        var attempts = 0;
        var notices = new List<RetryNotice>();
        var answer = await new TransientRetry(Policy, waits.Delay).SendAsync("put part", _ => ++attempts switch
        {
            1 => Task.FromResult(Answer(503)),
            2 => throw new HttpRequestException("Connection refused", new SocketException((int)SocketError.ConnectionRefused)),
            _ => Task.FromResult(Answer(200)),
        }, notices.Add, CancellationToken.None);

        Assert.Equal(200, answer.Status);
        Assert.Equal(3, attempts);
        Assert.Equal([TimeSpan.FromMilliseconds(500), TimeSpan.FromMilliseconds(1000)], waits.Taken);
        Assert.Equal([1, 2], notices.Select(n => n.FailedAttempt));
        Assert.Contains("[503] failure 503", notices[0].Why);
    }

    [Fact]
    public async Task A_4xx_is_answered_at_once()
    {
        var waits = new Waits();
        var attempts = 0;
        var answer = await new TransientRetry(Policy, waits.Delay).SendAsync("put part", _ => { attempts++; return Task.FromResult(Answer(400)); }, null, CancellationToken.None);
        Assert.Equal(400, answer.Status);
        Assert.Equal(1, attempts);
        Assert.Empty(waits.Taken);
    }

    [Fact]
    public async Task A_service_failing_every_time_is_tried_max_attempts_times_and_the_last_answer_returned()
    {
        var waits = new Waits();
        var attempts = 0;
        var answer = await new TransientRetry(Policy, waits.Delay).SendAsync("put part", _ => { attempts++; return Task.FromResult(Answer(503)); }, null, CancellationToken.None);
        Assert.Equal(503, answer.Status);
        Assert.Equal(Policy.MaxAttempts, attempts);
        Assert.Equal(Policy.MaxAttempts - 1, waits.Taken.Count);
    }

    [Fact]
    public async Task A_connection_error_on_the_last_attempt_is_unreachable()
    {
        var attempts = 0;
        var error = await Assert.ThrowsAsync<ServiceUnreachableException>(() => new TransientRetry(Policy, new Waits().Delay).SendAsync(
            "put part [3]", _ => { attempts++; throw new HttpRequestException("Connection reset"); }, null, CancellationToken.None));
        Assert.Equal(Policy.MaxAttempts, attempts);
        Assert.Contains("put part [3]", error.Message);
        Assert.Contains("Connection reset", error.Message);
    }

    [Fact]
    public async Task Cancellation_is_not_retried()
    {
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();
        var attempts = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new TransientRetry(Policy, new Waits().Delay).SendAsync(
            "put part", ct => { attempts++; ct.ThrowIfCancellationRequested(); return Task.FromResult(Answer(200)); }, null, cancel.Token));
        Assert.Equal(1, attempts);
    }
}
