using TrainedModelsOrleans.Grains.Models.Parsing;

namespace TrainedModelsOrleans.Grains.Deployments;

/// <summary>The names Elasticsearch prints for the assignment enums, and its lookups of them.</summary>
public static class EsNames
{
    public static string Of(RoutingState state) => state switch
    {
        RoutingState.Starting => "starting",
        RoutingState.Started => "started",
        RoutingState.Stopping => "stopping",
        RoutingState.Failed => "failed",
        _ => "stopped",
    };

    public static string Of(AssignmentState state) => state switch
    {
        AssignmentState.Starting => "starting",
        AssignmentState.Started => "started",
        AssignmentState.Stopping => "stopping",
        _ => "failed",
    };

    public static string Of(AllocationState state) => state switch
    {
        AllocationState.Starting => "starting",
        AllocationState.Started => "started",
        _ => "fully_allocated",
    };

    public static string Of(Priority priority) => priority == Priority.Low ? "low" : "normal";

    /// <summary>
    /// Priority.fromString: <c>valueOf(value.toUpperCase())</c>, so any case; ES's third constant
    /// <c>DEFAULT</c> plans like <c>normal</c> and is taken as such. Anything else fails as Java's enum lookup does.
    /// </summary>
    public static Priority ParsePriority(string value) => value.ToUpperInvariant() switch
    {
        "LOW" => Priority.Low,
        "NORMAL" or "DEFAULT" => Priority.Normal,
        var upper => throw EsErrors.IllegalArgument($"No enum constant org.elasticsearch.xpack.core.ml.inference.assignment.Priority.{upper}"),
    };

    /// <summary>AllocationStatus.State.fromString (the <c>wait_for</c> values), any case.</summary>
    public static AllocationState ParseWaitFor(string value) => value.ToUpperInvariant() switch
    {
        "STARTING" => AllocationState.Starting,
        "STARTED" => AllocationState.Started,
        "FULLY_ALLOCATED" => AllocationState.FullyAllocated,
        var upper => throw EsErrors.IllegalArgument(
            $"No enum constant org.elasticsearch.xpack.core.ml.inference.assignment.AllocationStatus.State.{upper}"),
    };
}
