using TrainedModelsOrleans.Grains.Deployments;

namespace TrainedModelsOrleans.ControlPlaneRules.Tests;

/// <summary>Builds assignments for tests.</summary>
internal static class Assignments
{
    public static RoutingInfo Route(RoutingState state, int current, int target, string? reason = null) =>
        new() { RoutingState = state, CurrentAllocations = current, TargetAllocations = target, Reason = reason };

    public static TrainedModelAssignment Of(
        int numberOfAllocations = 1,
        AssignmentState state = AssignmentState.Started,
        Priority priority = Priority.Normal,
        string deploymentId = "dep",
        string modelId = "model",
        params (string Node, RoutingInfo Route)[] routes) => new()
    {
        TaskParameters = new TaskParameters
        {
            ModelId = modelId,
            DeploymentId = deploymentId,
            ModelBytes = 1630,
            NumberOfAllocations = numberOfAllocations,
            CacheSize = "10kb",
            Priority = priority,
        },
        RoutingTable = routes.ToDictionary(r => r.Node, r => r.Route),
        AssignmentState = state,
        StartTime = 1_667_389_834_766,
    };
}
