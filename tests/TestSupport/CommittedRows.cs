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
    /// <summary>
    /// Rows that hold a prepared state. A node's capacity grain lives only on that node's silo, so the row of a node that
    /// is not active (killed mid-transaction) keeps its prepared state until the node rejoins and asks the transaction's
    /// manager how it ended; the node_capacity view (db/0007) leaves such a node out, and so does this wait, by its rule.
    /// </summary>
    private const string PendingRows = """
        SELECT s.grainidextensionstring FROM orleansstorage s
        WHERE s.payloadbinary IS NOT NULL
          AND jsonb_array_length(COALESCE(convert_from(s.payloadbinary, 'UTF8')::jsonb -> 'PendingStates', '[]'::jsonb)) > 0
          AND NOT (s.graintypestring = 'node-capacity' AND substr(s.grainidextensionstring, strpos(s.grainidextensionstring, '/') + 1)
                   NOT IN (SELECT node FROM node_capacity))
        ORDER BY 1
        """;

    /// <summary>
    /// Rows whose transaction manager still keeps a commit record: it writes its row once more to drop the record after
    /// every participant confirmed, which may be after the commit answered. (A killed node's participant never confirms.)
    /// </summary>
    private const string UnconfirmedRows = """
        SELECT s.grainidextensionstring FROM orleansstorage s
        WHERE s.payloadbinary IS NOT NULL
          AND COALESCE(convert_from(s.payloadbinary, 'UTF8')::jsonb -> 'Metadata' -> 'CommitRecords', '{}'::jsonb) <> '{}'::jsonb
        ORDER BY 1
        """;

    /// <summary>
    /// Waits until no row holds a prepared state and, with <paramref name="confirmed"/> (for clusters where no silo was
    /// killed), until no manager still holds a commit record: then no write of a finished transaction is still to come.
    /// </summary>
    public static async Task WaitAsync(NpgsqlDataSource dataSource, TimeSpan? bound = null, bool confirmed = false)
    {
        var deadline = DateTime.UtcNow + (bound ?? TimeSpan.FromSeconds(15));
        while (true)
        {
            var pending = await PendingAsync(dataSource);
            if (confirmed && pending.Count == 0) pending = await KeysAsync(dataSource, UnconfirmedRows);
            if (pending.Count == 0) return;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"transactional rows still hold prepared states or commit records: {string.Join(", ", pending)}");
            await Task.Delay(20);
        }
    }

    /// <summary>The keys ("grain type/key") of the rows that still hold a prepared state.</summary>
    public static Task<List<string>> PendingAsync(NpgsqlDataSource dataSource) => KeysAsync(dataSource, PendingRows);

    private static async Task<List<string>> KeysAsync(NpgsqlDataSource dataSource, string query)
    {
        await using var command = dataSource.CreateCommand(query);
        await using var reader = await command.ExecuteReaderAsync();
        var keys = new List<string>();
        while (await reader.ReadAsync()) keys.Add(reader.GetString(0));
        return keys;
    }
}
