using TrainedModelsOrleans.Api.Security;
using TrainedModelsOrleans.Grains.Errors;
using Xunit;

namespace TrainedModelsOrleans.Api.Tests.Security;

public sealed class HashingTurnsTests
{
    [Fact]
    public async Task Past_the_turns_and_the_queue_a_verification_is_refused_at_once_with_429_and_the_others_finish()
    {
        using var turns = new HashingTurns(slots: 1, queue: 1);
        using var release = new ManualResetEventSlim();
        var running = new TaskCompletionSource();
        var first = Task.Run(() => turns.RunAsync(() => { running.SetResult(); release.Wait(TimeSpan.FromSeconds(30)); return 1; }, CancellationToken.None));
        await running.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var queued = turns.RunAsync(() => 2, CancellationToken.None);
        Assert.False(queued.IsCompleted);

        var refused = await Assert.ThrowsAsync<ElasticsearchException>(() => turns.RunAsync(() => 3, CancellationToken.None))
            .WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal((429, "es_rejected_execution_exception"), (refused.Status, refused.Type));

        release.Set();
        var answers = await Task.WhenAll(first, queued).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(new[] { 1, 2 }, answers);
        // The turns are free again.
        Assert.Equal(4, await turns.RunAsync(() => 4, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task A_waiting_verification_whose_request_is_cancelled_leaves_the_queue()
    {
        using var turns = new HashingTurns(slots: 1, queue: 1);
        using var release = new ManualResetEventSlim();
        var running = new TaskCompletionSource();
        var first = Task.Run(() => turns.RunAsync(() => { running.SetResult(); release.Wait(TimeSpan.FromSeconds(30)); return 1; }, CancellationToken.None));
        await running.Task.WaitAsync(TimeSpan.FromSeconds(10));
        using var cancel = new CancellationTokenSource();
        var queued = turns.RunAsync(() => 2, cancel.Token);
        cancel.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => queued).WaitAsync(TimeSpan.FromSeconds(5));
        // Its place in the queue is free: another may wait there.
        var next = turns.RunAsync(() => 3, CancellationToken.None);
        release.Set();
        var answers = await Task.WhenAll(first, next).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(new[] { 1, 3 }, answers);
    }

    [Fact]
    public void No_turn_at_all_is_refused_when_the_node_starts_naming_the_setting()
    {
        var refused = Assert.Throws<InvalidOperationException>(() => new HashingTurns(slots: 0, queue: 10));
        Assert.Contains("Security:MaxConcurrentHashing", refused.Message);
        Assert.Contains("Security:MaxQueuedHashing", Assert.Throws<InvalidOperationException>(() => new HashingTurns(slots: 1, queue: -1)).Message);
    }
}
