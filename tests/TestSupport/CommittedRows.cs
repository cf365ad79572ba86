using Npgsql;

namespace TrainedModelsOrleans.TestSupport;

/// <summary>
/// The control plane's state is Orleans transactional grain state: a transaction commits when its manager has stored
/// its decision, and each other participant then writes its committed state a moment later (Orleans' confirmation).
/// Assertions on the committed rows (the ml_* views, deployment_routes, node_capacity) first wait for that: until no
/// row holds a prepared state any more.
/// </summary>
public static class CommittedRows
{
    public static async Task WaitAsync(NpgsqlDataSource dataSource, TimeSpan? bound = null)
    {
        var deadline = DateTime.UtcNow + (bound ?? TimeSpan.FromSeconds(15));
        while (true)
        {
            await using var command = dataSource.CreateCommand("""
                SELECT count(*) FROM orleansstorage
                WHERE payloadbinary IS NOT NULL
                  AND jsonb_array_length(COALESCE(convert_from(payloadbinary, 'UTF8')::jsonb -> 'PendingStates', '[]'::jsonb)) > 0
                """);
            if ((long)(await command.ExecuteScalarAsync())! == 0) return;
            if (DateTime.UtcNow > deadline) throw new TimeoutException("transactional rows still hold prepared states");
            await Task.Delay(20);
        }
    }
}
