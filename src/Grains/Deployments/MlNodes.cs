using Npgsql;
using Orleans.Runtime;
using TrainedModelsOrleans.Grains.Serving;

namespace TrainedModelsOrleans.Grains.Deployments;

/// <summary>
/// The ML nodes the planner may use: silos Orleans' membership holds Active, with what each offered when
/// it joined (ml_nodes). A silo declared dead leaves this list when this silo's membership view learns it.
/// </summary>
public sealed class MlNodes(NpgsqlDataSource dataSource, IClusterMembershipService membership)
{
    /// <summary>Records what this node offers; called as the node joins, before it asks to be planned.</summary>
    public async Task OfferAsync(LocalNode node, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand("""
            INSERT INTO ml_nodes (node, allocated_processors, memory_bytes) VALUES ($1, $2, $3)
            ON CONFLICT (node) DO UPDATE SET allocated_processors = EXCLUDED.allocated_processors,
                memory_bytes = EXCLUDED.memory_bytes, modified_on = now()
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = node.Name });
        command.Parameters.Add(new NpgsqlParameter { Value = node.Processors });
        command.Parameters.Add(new NpgsqlParameter { Value = node.MemoryBytes });
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Every node that ever offered itself, live or not (stats name the nodes routes mention).</summary>
    public async Task<IReadOnlyList<MlNode>> KnownAsync(CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand("SELECT node, allocated_processors, memory_bytes FROM ml_nodes ORDER BY node");
        var nodes = new List<MlNode>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) nodes.Add(new MlNode(reader.GetString(0), reader.GetInt32(1), reader.GetInt64(2)));
        return nodes;
    }

    /// <summary>Live ML nodes, by name.</summary>
    public async Task<IReadOnlyList<MlNode>> LiveAsync(CancellationToken ct)
    {
        var active = membership.CurrentSnapshot.Members.Values
            .Where(m => m.Status == SiloStatus.Active && !string.IsNullOrEmpty(m.Name))
            .Select(m => m.Name).Distinct(StringComparer.Ordinal).ToArray();
        if (active.Length == 0) return [];
        await using var command = dataSource.CreateCommand(
            "SELECT node, allocated_processors, memory_bytes FROM ml_nodes WHERE node = ANY($1) ORDER BY node");
        command.Parameters.Add(new NpgsqlParameter { Value = active });
        var nodes = new List<MlNode>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) nodes.Add(new MlNode(reader.GetString(0), reader.GetInt32(1), reader.GetInt64(2)));
        return nodes;
    }
}
