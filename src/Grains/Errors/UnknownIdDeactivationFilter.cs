using System.Runtime.CompilerServices;
using Orleans;
using Orleans.Runtime;

namespace TrainedModelsOrleans.Grains.Errors;

/// <summary>A grain keyed by an id users choose, which anyone can ask about ids that do not exist.</summary>
public interface IKeyedByUserId
{
    /// <summary>
    /// True when this activation keeps nothing worth keeping after a call (<paramref name="callFoundNothing"/>: it ended
    /// in a 404): no record for its id, no change in progress, and no part in a transaction that may still be confirming.
    /// </summary>
    bool HoldsNothing(bool callFoundNothing);

    /// <summary>
    /// True when its record is gone (a deleted model, a stopped deployment) and nothing is in progress, but it took part
    /// in the transaction that removed it, which may still be confirming: it can go once that is surely done.
    /// </summary>
    bool HoldsOnlyAFinishedChange => false;
}

/// <summary>
/// Activations keyed by users' ids must not pile up for the collection age (15 min). After a call that found nothing
/// (as the grain judges it) the activation is deactivated at once; after one that left only a finished change behind
/// (a delete, a stop) it is deactivated Ml:FinishedChangeLinger (1 min) later if it still holds nothing then — long
/// past any confirmation of that change, whose timeouts are seconds. Orleans lets calls already running finish first;
/// the next call activates anew (a late confirmation included: transactional state recovers from its row).
/// </summary>
public sealed class UnknownIdDeactivationFilter(Deployments.MlSettings settings) : IIncomingGrainCallFilter
{
    /// <summary>One pending check per activation.</summary>
    private static readonly ConditionalWeakTable<IGrainContext, IGrainTimer> Lingering = new();

    public async Task Invoke(IIncomingGrainCallContext context)
    {
        var notFound = false;
        try
        {
            await context.Invoke();
        }
        catch (ElasticsearchException error) when (error.Status == 404)
        {
            notFound = true;
            throw;
        }
        finally
        {
            if (context.TargetContext.GrainInstance is IKeyedByUserId keyed)
            {
                if (keyed.HoldsNothing(notFound))
                    context.TargetContext.Deactivate(new DeactivationReason(DeactivationReasonCode.ApplicationRequested, "the id is unknown"));
                else if (keyed.HoldsOnlyAFinishedChange && context.TargetContext.GrainInstance is IGrainBase grain)
                    DeactivateLater(context.TargetContext, grain, keyed);
            }
        }
    }

    private void DeactivateLater(IGrainContext activation, IGrainBase grain, IKeyedByUserId keyed)
    {
        if (Lingering.TryGetValue(activation, out _)) return;
        var timer = grain.RegisterGrainTimer(_ =>
        {
            Lingering.Remove(activation);
            if (keyed.HoldsOnlyAFinishedChange)
                activation.Deactivate(new DeactivationReason(DeactivationReasonCode.ApplicationRequested, "its record was removed"));
            return Task.CompletedTask;
        }, new GrainTimerCreationOptions(settings.FinishedChangeLinger, Timeout.InfiniteTimeSpan) { KeepAlive = false });
        Lingering.Add(activation, timer);
    }
}
