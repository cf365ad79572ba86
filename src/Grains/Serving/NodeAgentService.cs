using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans;
using Orleans.Runtime;
using TrainedModelsOrleans.Grains.Deployments;

namespace TrainedModelsOrleans.Grains.Serving;

/// <summary>
/// Makes this silo an ML node: once the host has started (the silo is active), the node joins the plan and re-opens what is routed to it (e.g. after a crash); while the host begins to
/// stop, and the silo still serves calls, the node leaves so its allocations move. Every Orleans membership
/// change asks the coordinator to re-plan; a timer catches whatever a lost call missed.
/// </summary>
public sealed partial class NodeAgentService(
    IGrainFactory grains, IClusterMembershipService membership, LocalNode node, MlSettings settings,
    ILogger<NodeAgentService> logger)
    : IHostedLifecycleService, ILifecycleParticipant<ISiloLifecycle>
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _changed = new(0, 1);
    private Task? _membershipWatch;
    private Task? _refreshLoop;

    private INodeCapacityGrain Node => grains.GetGrain<INodeCapacityGrain>(node.Name);

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StartedAsync(CancellationToken cancellationToken)
    {
        try
        {
            await Node.Join().WaitAsync(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The node still serves grain calls; the next plan change or restart retries the join.
            LogJoinFailed(logger, node.Name, e);
        }
        _membershipWatch = WatchMembershipAsync();
        _refreshLoop = RefreshLoopAsync();
    }

    private async Task WatchMembershipAsync()
    {
        try
        {
            await foreach (var _ in membership.MembershipUpdates.WithCancellation(_stopping.Token)) Signal();
        }
        catch (OperationCanceledException) { }
    }

    private void Signal()
    {
        try { _changed.Release(); }
        catch (SemaphoreFullException) { /* a refresh is already due */ }
    }

    private async Task RefreshLoopAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            // A change signalled while the last refresh ran is still pending here: none is lost.
            try { await _changed.WaitAsync(settings.NodeCheckInterval, _stopping.Token); }
            catch (OperationCanceledException) { return; }
            try
            {
                await grains.GetGrain<IAssignmentCoordinatorGrain>(AssignmentCoordinatorGrain.Key).RefreshNodes();
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogRefreshFailed(logger, e);
            }
        }
    }

    /// <summary>
    /// The node leaves as the silo's Active stage stops: the first stage to stop, while the silo still takes and makes
    /// grain calls (the host's stopping notice may come after Orleans has begun to stop).
    /// </summary>
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(NodeAgentService), ServiceLifecycleStage.Active, _ => Task.CompletedTask, LeaveAsync);

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task LeaveAsync(CancellationToken cancellationToken)
    {
        if (_stopping.IsCancellationRequested) return;
        await _stopping.CancelAsync();
        if (_membershipWatch is not null) await _membershipWatch;
        if (_refreshLoop is not null) await _refreshLoop;
        try
        {
            await Node.Leave().WaitAsync(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogLeaveFailed(logger, node.Name, e);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Error, Message = "Node {Node} could not join the ML plan")]
    private static partial void LogJoinFailed(ILogger logger, string node, Exception error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Checking the ML nodes for changes failed")]
    private static partial void LogRefreshFailed(ILogger logger, Exception error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Node {Node} could not leave the ML plan cleanly")]
    private static partial void LogLeaveFailed(ILogger logger, string node, Exception error);
}
