using Npgsql;
using TrainedModelsOrleans.Grains.Storage;

namespace TrainedModelsOrleans.Grains.Deployments;

/// <summary>The SQL of the control plane (db/0003_deployments.sql) and the node list from membership.</summary>
public sealed class DeploymentTables(NpgsqlDataSource dataSource)
{
    public const string DeploymentGrainType = "deployment";
    public const string AssignmentState = "assignment";

    public async Task<IReadOnlyList<string>> DeploymentIdsAsync(CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT grain_key FROM grain_state WHERE grain_type = $1 AND state_name = $2 AND payload IS NOT NULL ORDER BY grain_key");
        command.Parameters.Add(new NpgsqlParameter { Value = DeploymentGrainType });
        command.Parameters.Add(new NpgsqlParameter { Value = AssignmentState });
        var ids = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) ids.Add(reader.GetString(0));
        return ids;
    }

    /// <summary>Which of these ids are taken, and by what.</summary>
    public async Task<IReadOnlyDictionary<string, (string Kind, string ModelId)>> IdsAsync(IReadOnlyCollection<string> ids, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand("SELECT id, kind, model_id FROM ml_ids WHERE id = ANY($1)");
        command.Parameters.Add(new NpgsqlParameter { Value = ids.ToArray() });
        var found = new Dictionary<string, (string, string)>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) found[reader.GetString(0)] = (reader.GetString(1), reader.GetString(2));
        return found;
    }

    public async Task<IReadOnlyList<NodeRoute>> RoutesOfNodeAsync(string node, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT deployment_id, model_id, threads_per_allocation, target_allocations, priority, routing_state,
                   queue_capacity, cache_size_bytes
            FROM deployment_routes WHERE node = $1 ORDER BY deployment_id
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = node });
        var routes = new List<NodeRoute>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
            routes.Add(new NodeRoute(reader.GetString(0), reader.GetString(1), reader.GetInt32(2), reader.GetInt32(3),
                reader.GetString(4) == "low" ? Priority.Low : Priority.Normal, ParseRoutingState(reader.GetString(5)),
                reader.GetInt32(6), reader.GetInt64(7)));
        return routes;
    }

    public async Task<IReadOnlyList<string>> CapacityNodesAsync(CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand("SELECT node FROM node_capacity ORDER BY node");
        var nodes = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) nodes.Add(reader.GetString(0));
        return nodes;
    }

    public async Task<NodeCapacity?> NodeCapacityAsync(string node, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT allocated_processors, memory_bytes, normal_threads, low_threads FROM node_capacity WHERE node = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = node });
        await using var reader = await command.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct)) return null;
        return new NodeCapacity(node, reader.GetInt32(0), reader.GetInt64(1), reader.GetInt32(2), reader.GetInt32(3));
    }

    /// <summary>Every model id, deployment id or alias that some pipeline's inference processor names.</summary>
    public async Task<IReadOnlyList<string>> PipelineReferencesAsync(CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand("SELECT DISTINCT model_id FROM pipeline_model_refs");
        var ids = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) ids.Add(reader.GetString(0));
        return ids;
    }

    /// <summary>Model id → how many pipelines name it (directly, or through a deployment id or alias of it).</summary>
    public async Task<IReadOnlyDictionary<string, int>> PipelineCountsAsync(CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT COALESCE(i.model_id, r.model_id), count(DISTINCT r.pipeline_id)
            FROM pipeline_model_refs r LEFT JOIN ml_ids i ON i.id = r.model_id
            GROUP BY 1
            """);
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) counts[reader.GetString(0)] = (int)reader.GetInt64(1);
        return counts;
    }

    /// <summary>The aliases pointing at this model.</summary>
    public async Task<IReadOnlyList<string>> AliasesOfAsync(string modelId, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand("SELECT id FROM ml_ids WHERE kind = 'alias' AND model_id = $1 ORDER BY id");
        command.Parameters.Add(new NpgsqlParameter { Value = modelId });
        var aliases = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) aliases.Add(reader.GetString(0));
        return aliases;
    }

    /// <summary>Replaces the route rows of these deployments and the capacity rows of these nodes.</summary>
    public static void WriteRoutes(StateTransaction transaction, IEnumerable<string> deploymentIds, IEnumerable<TrainedModelAssignment> assignments,
        IEnumerable<NodeCapacity> nodes)
    {
        transaction.Execute("DELETE FROM deployment_routes WHERE deployment_id = ANY($1)", [deploymentIds.ToArray()]);
        foreach (var assignment in assignments)
        foreach (var (node, route) in assignment.RoutingTable)
        {
            var parameters = assignment.TaskParameters;
            transaction.Execute("""
                INSERT INTO deployment_routes (deployment_id, node, model_id, priority, threads_per_allocation,
                    current_allocations, target_allocations, routing_state, reason, queue_capacity, cache_size_bytes)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                """,
                [parameters.DeploymentId, node, parameters.ModelId, parameters.Priority == Priority.Low ? "low" : "normal",
                 parameters.ThreadsPerAllocation, route.CurrentAllocations, route.TargetAllocations, RoutingStateName(route.RoutingState), route.Reason,
                 parameters.QueueCapacity, CacheSizeBytes(parameters)]);
        }
        foreach (var node in nodes)
            transaction.Execute("""
                INSERT INTO node_capacity (node, allocated_processors, memory_bytes, normal_threads, low_threads) VALUES ($1, $2, $3, $4, $5)
                ON CONFLICT (node) DO UPDATE SET allocated_processors = EXCLUDED.allocated_processors, memory_bytes = EXCLUDED.memory_bytes,
                    normal_threads = EXCLUDED.normal_threads, low_threads = EXCLUDED.low_threads, modified_on = now()
                """, [node.Node, node.AllocatedProcessors, node.MemoryBytes, node.NormalThreads, node.LowThreads]);
    }

    /// <summary>ES: the result cache is as big as cache_size, or as the model when cache_size is not set.</summary>
    public static long CacheSizeBytes(TaskParameters parameters) =>
        parameters.CacheSize is { } size ? Math.Max(0, ByteSize.Parse(size, "cache_size").Bytes) : parameters.ModelBytes;

    public static void ClaimDeploymentId(StateTransaction transaction, string deploymentId, string modelId) =>
        transaction.Execute("INSERT INTO ml_ids (id, kind, model_id) VALUES ($1, 'deployment', $2)", [deploymentId, modelId], expectedRows: 1);

    public static void ReleaseDeploymentId(StateTransaction transaction, string deploymentId) =>
        transaction.Execute("DELETE FROM ml_ids WHERE id = $1 AND kind = 'deployment'", [deploymentId]);

    public static string RoutingStateName(RoutingState state) => state switch
    {
        RoutingState.Starting => "starting",
        RoutingState.Started => "started",
        RoutingState.Stopping => "stopping",
        RoutingState.Failed => "failed",
        _ => "stopped",
    };

    private static RoutingState ParseRoutingState(string state) => state switch
    {
        "starting" => RoutingState.Starting,
        "started" => RoutingState.Started,
        "stopping" => RoutingState.Stopping,
        "failed" => RoutingState.Failed,
        _ => RoutingState.Stopped,
    };
}

/// <summary>An ML node as the planner sees it: a live silo and what it offers.</summary>
public sealed record MlNode(string Name, int AllocatedProcessors, long MemoryBytes);
