using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Runtime;
using TrainedModelsOrleans.Runtime.Hosting;
using TrainedModelsOrleans.Runtime.MembershipService;

namespace TrainedModelsOrleans.Grains.Serving;

/// <summary>
/// Makes this silo an ML node: once every hosted service has started (the silo included), the node joins
/// the plan and re-opens what is routed to it, e.g. after a crash; when the silo begins to stop, while it
/// still serves calls, the node leaves so its allocations move.
/// </summary>
public sealed partial class NodeAgentService(
    IGrainFactory grains, IClusterMembership membership, SiloConfiguration silo, MlSettings settings, ILogger<NodeAgentService> logger)
    : IHostedLifecycleService, ISiloShutdownParticipant
{
    private readonly CancellationTokenSource _stopping = new();
    private Task? _membershipWatch;

    private INodeCapacityGrain Node => grains.GetGrain<INodeCapacityGrain>(silo.Silo.SiloName);

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
            LogJoinFailed(logger, silo.Silo.SiloName, e);
        }
        membership.Changed += OnMembershipChanged;
        _membershipWatch = WatchMembershipAsync();
    }

    /// <summary>
    /// Nodes come and go (a silo joins, one is declared dead): the coordinator re-plans when the set changed.
    /// A membership change asks at once; the timer catches whatever a lost call missed.
    /// </summary>
    private async Task WatchMembershipAsync()
    {
        try
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
        catch (OperationCanceledException) { }
    }

    private readonly SemaphoreSlim _changed = new(0, 1);

    private void OnMembershipChanged(MembershipView view)
    {
        try { _changed.Release(); }
        catch (SemaphoreFullException) { /* a refresh is already due */ }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Called by the silo as it begins to stop, while grain calls still work.</summary>
    public async Task OnSiloStoppingAsync(CancellationToken cancellationToken)
    {
        membership.Changed -= OnMembershipChanged;
        await _stopping.CancelAsync();
        if (_membershipWatch is not null) await _membershipWatch;
        try
        {
            await Node.Leave().WaitAsync(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogLeaveFailed(logger, silo.Silo.SiloName, e);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Node {Node} could not join the ML plan")]
    private static partial void LogJoinFailed(ILogger logger, string node, Exception error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Checking the ML nodes for changes failed")]
    private static partial void LogRefreshFailed(ILogger logger, Exception error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Node {Node} could not leave the ML plan cleanly")]
    private static partial void LogLeaveFailed(ILogger logger, string node, Exception error);
}
