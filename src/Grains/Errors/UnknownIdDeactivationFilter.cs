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
}

/// <summary>
/// A flood of requests for unknown ids must not leave an activation per id behind for the collection age (15 min):
/// after a call to a grain keyed by a user's id that found nothing (as the grain judges it), the
/// activation is deactivated at once. Orleans lets calls already running finish first; the next call activates anew.
/// </summary>
public sealed class UnknownIdDeactivationFilter : IIncomingGrainCallFilter
{
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
            if (context.TargetContext.GrainInstance is IKeyedByUserId keyed && keyed.HoldsNothing(notFound))
                context.TargetContext.Deactivate(new DeactivationReason(DeactivationReasonCode.ApplicationRequested, "the id is unknown"));
        }
    }
}
