using Npgsql;

namespace TrainedModelsOrleans.Grains.Cluster;

/// <summary>A stable cluster id: PostgreSQL's system identifier of the shared database cluster.</summary>
public static class ClusterUuid
{
    public static async Task<string> ReadAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT system_identifier FROM pg_control_system()");
        var id = (long)(await command.ExecuteScalarAsync(cancellationToken))!;
        Span<byte> bytes = stackalloc byte[16];
        BitConverter.TryWriteBytes(bytes, id);
        BitConverter.TryWriteBytes(bytes[8..], ~id);
        return Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_')[..22];
    }
}
