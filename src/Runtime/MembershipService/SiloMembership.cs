using Npgsql;
using TrainedModelsOrleans.Runtime.Catalog;
using TrainedModelsOrleans.Runtime.Configuration;

namespace TrainedModelsOrleans.Runtime.MembershipService;

public static class SiloStatus
{
    public const string Joining = "joining";
    public const string Active = "active";
    public const string ShuttingDown = "shutting_down";
    public const string Dead = "dead";

    public static bool IsAlive(string status) => status is Joining or Active or ShuttingDown;
}

/// <summary>This silo's name and generation (seconds since 2022-01-01 UTC, forced to grow, as Orleans does).</summary>
public sealed class SiloIdentity(string name, long generation)
{
    public string Name { get; } = name;
    public long Generation { get; } = generation;
    public override string ToString() => $"{Name}@{Generation}";
}

/// <summary>A row of the membership table.</summary>
public sealed record SiloEntry(
    string SiloId, long Generation, string Address, string? GatewayAddress, string Status,
    int AllocatedProcessors, long MemoryBytes, DateTimeOffset StartTime, DateTimeOffset Heartbeat);

/// <summary>Registers this silo in the silos table, keeps its heartbeat fresh, and marks it gone on shutdown.</summary>
internal sealed class SiloMembership(NpgsqlDataSource dataSource, SiloOptions options, RuntimeLog log)
{
    private static readonly DateTime Epoch = new(2022, 1, 1, 0, 0, 0, DateTimeKind.Utc);

    public async Task<SiloIdentity> JoinAsync(CancellationToken cancellationToken)
    {
        var wanted = (long)(DateTime.UtcNow - Epoch).TotalSeconds;
        await using var command = dataSource.CreateCommand("""
            INSERT INTO silos (silo_id, generation, address, gateway_address, status, allocated_processors, memory_bytes)
            SELECT $1, GREATEST($2, COALESCE(MAX(generation) + 1, 0)), $3, $4, 'joining', $5, $6
            FROM silos WHERE silo_id = $1
            RETURNING generation
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = options.SiloName });
        command.Parameters.Add(new NpgsqlParameter { Value = wanted });
        command.Parameters.Add(new NpgsqlParameter { Value = options.Address });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)options.GatewayAddress ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter { Value = options.AllocatedProcessors });
        command.Parameters.Add(new NpgsqlParameter { Value = options.MemoryBytes });
        var generation = (long)(await command.ExecuteScalarAsync(cancellationToken))!;

        // Earlier lives of this node are over: it can only run once. One that may still be serving (its heartbeat
        // is fresher than the self-fence limit) is given the time to find out and fence itself before this one serves.
        await using var previous = dataSource.CreateCommand("""
            UPDATE silos SET status = 'dead' WHERE silo_id = $1 AND generation < $2 AND status <> 'dead'
            RETURNING EXTRACT(EPOCH FROM now() - heartbeat)::float8
            """);
        previous.Parameters.Add(new NpgsqlParameter { Value = options.SiloName });
        previous.Parameters.Add(new NpgsqlParameter { Value = generation });
        var wait = TimeSpan.Zero;
        await using (var reader = await previous.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var left = options.SelfFenceAfter - TimeSpan.FromSeconds(reader.GetDouble(0));
                if (left > TimeSpan.Zero) wait = TimeSpan.FromTicks(Math.Max(wait.Ticks, Math.Max(left.Ticks, (2 * options.HeartbeatPeriod).Ticks)));
            }
        }
        if (wait > TimeSpan.Zero)
        {
            log.WaitingForPredecessor(options.SiloName, wait.TotalSeconds);
            await Task.Delay(wait + TimeSpan.FromMilliseconds(100), cancellationToken);
        }

        log.SiloJoined(options.SiloName, generation, options.Address, options.AllocatedProcessors, options.MemoryBytes);
        return new SiloIdentity(options.SiloName, generation);
    }

    /// <summary>The silo's listener is up: peers may call it at this address from now on.</summary>
    public async Task<bool> SetActiveAsync(SiloIdentity silo, string address, string gatewayAddress, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            UPDATE silos SET status = 'active', address = $3, gateway_address = $4, heartbeat = now()
            WHERE silo_id = $1 AND generation = $2 AND status <> 'dead'
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = silo.Name });
        command.Parameters.Add(new NpgsqlParameter { Value = silo.Generation });
        command.Parameters.Add(new NpgsqlParameter { Value = address });
        command.Parameters.Add(new NpgsqlParameter { Value = gatewayAddress });
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>Refreshes this silo's heartbeat; false when a peer has declared it dead (the caller must fence itself).</summary>
    public async Task<bool> HeartbeatAsync(SiloIdentity silo, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            "UPDATE silos SET heartbeat = now() WHERE silo_id = $1 AND generation = $2 AND status <> 'dead'");
        command.Parameters.Add(new NpgsqlParameter { Value = silo.Name });
        command.Parameters.Add(new NpgsqlParameter { Value = silo.Generation });
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>
    /// Declares dead every other silo whose heartbeat (by the database's clock) is older than the death timeout.
    /// The update is conditional, so when several peers see the same silo go quiet exactly one declaration wins.
    /// </summary>
    public async Task<IReadOnlyList<(string Silo, long Generation)>> DeclareStaleDeadAsync(
        SiloIdentity self, TimeSpan deathTimeout, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            UPDATE silos SET status = 'dead'
            WHERE status <> 'dead' AND heartbeat < now() - $3 AND NOT (silo_id = $1 AND generation = $2)
            RETURNING silo_id, generation
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = self.Name });
        command.Parameters.Add(new NpgsqlParameter { Value = self.Generation });
        command.Parameters.Add(new NpgsqlParameter { Value = deathTimeout });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var declared = new List<(string, long)>();
        while (await reader.ReadAsync(cancellationToken)) declared.Add((reader.GetString(0), reader.GetInt64(1)));
        foreach (var (name, generation) in declared) log.SiloDeclaredDead(name, generation, self.Name);
        return declared;
    }

    /// <summary>Rows of silos dead for longer than the retention go (Orleans' defunct-silo cleanup).</summary>
    public async Task PruneDefunctAsync(TimeSpan retention, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("DELETE FROM silos WHERE status = 'dead' AND heartbeat < now() - $1");
        command.Parameters.Add(new NpgsqlParameter { Value = retention });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task SetStatusAsync(SiloIdentity silo, string status, CancellationToken cancellationToken)
    {
        // Never revives a silo a peer declared dead.
        await using var command = dataSource.CreateCommand(
            "UPDATE silos SET status = $3, heartbeat = now() WHERE silo_id = $1 AND generation = $2 AND status <> 'dead'");
        command.Parameters.Add(new NpgsqlParameter { Value = silo.Name });
        command.Parameters.Add(new NpgsqlParameter { Value = silo.Generation });
        command.Parameters.Add(new NpgsqlParameter { Value = status });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<IReadOnlyList<SiloEntry>> ReadAllAsync(CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT silo_id, generation, address, gateway_address, status, allocated_processors, memory_bytes, start_time, heartbeat
            FROM silos ORDER BY silo_id, generation
            """);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var entries = new List<SiloEntry>();
        while (await reader.ReadAsync(cancellationToken))
            entries.Add(new SiloEntry(reader.GetString(0), reader.GetInt64(1), reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetString(3), reader.GetString(4), reader.GetInt32(5), reader.GetInt64(6),
                reader.GetFieldValue<DateTimeOffset>(7), reader.GetFieldValue<DateTimeOffset>(8)));
        return entries;
    }
}
