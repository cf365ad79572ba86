using System.Globalization;
using System.Text.Json.Nodes;

namespace TrainedModelsOrleans.Grains.Deployments;

/// <summary>
/// TrainedModelAssignment.toXContent: the <c>assignment</c> the start and update APIs answer with, in ES's
/// field order. <c>start_time</c> is an Instant, which ES always prints as an ISO-8601 string
/// (strict_date_optional_time_nanos in UTC: <c>2023-05-01T10:20:30.123Z</c>), unlike the stats API's epoch millis.
/// </summary>
public static class AssignmentJson
{
    /// <summary>The start / update response: <c>{"assignment":{…}}</c>.</summary>
    public static JsonObject Response(TrainedModelAssignment assignment, AdaptiveAllocationsSettings? adaptiveAllocations = null) =>
        new() { ["assignment"] = Render(assignment, adaptiveAllocations) };

    public static JsonObject Render(TrainedModelAssignment assignment, AdaptiveAllocationsSettings? adaptiveAllocations = null)
    {
        var routingTable = new JsonObject();
        foreach (var (node, route) in AssignmentStatus.SortedRoutes(assignment))
            routingTable[node] = RenderRoute(route);

        var json = new JsonObject
        {
            ["task_parameters"] = RenderTaskParameters(assignment.TaskParameters),
            ["routing_table"] = routingTable,
            ["assignment_state"] = EsNames.Of(assignment.AssignmentState),
        };
        if (assignment.Reason is not null) json["reason"] = assignment.Reason;
        json["start_time"] = IsoInstant(assignment.StartTime);
        json["max_assigned_allocations"] = Math.Max(assignment.MaxAssignedAllocations, AssignmentStatus.TotalCurrentAllocations(assignment));
        adaptiveAllocations ??= AdaptiveAllocationsSettings.From(assignment.AdaptiveAllocations);
        if (adaptiveAllocations is not null) json["adaptive_allocations"] = adaptiveAllocations.ToJson();
        return json;
    }

    /// <summary>TaskParams.toXContent; <c>cache_size</c> only when set, as its string form.</summary>
    public static JsonObject RenderTaskParameters(TaskParameters parameters)
    {
        var json = new JsonObject
        {
            ["model_id"] = parameters.ModelId,
            ["deployment_id"] = parameters.DeploymentId,
            ["model_bytes"] = parameters.ModelBytes,
            ["threads_per_allocation"] = parameters.ThreadsPerAllocation,
            ["number_of_allocations"] = parameters.NumberOfAllocations,
            ["queue_capacity"] = parameters.QueueCapacity,
        };
        if (parameters.CacheSize is not null) json["cache_size"] = parameters.CacheSize;
        json["priority"] = EsNames.Of(parameters.Priority);
        json["per_deployment_memory_bytes"] = parameters.PerDeploymentMemoryBytes;
        json["per_allocation_memory_bytes"] = parameters.PerAllocationMemoryBytes;
        return json;
    }

    /// <summary>RoutingInfo.toXContent.</summary>
    public static JsonObject RenderRoute(RoutingInfo route)
    {
        var json = new JsonObject
        {
            ["current_allocations"] = route.CurrentAllocations,
            ["target_allocations"] = route.TargetAllocations,
            ["routing_state"] = EsNames.Of(route.RoutingState),
        };
        if (route.Reason is not null) json["reason"] = route.Reason;
        return json;
    }

    /// <summary>An epoch-millisecond instant as ES prints a java.time.Instant: UTC, at least three fraction digits.</summary>
    public static string IsoInstant(long epochMillis) =>
        DateTimeOffset.FromUnixTimeMilliseconds(epochMillis).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}
