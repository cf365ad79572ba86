using Npgsql;
using TrainedModelsOrleans.Runtime.Catalog;
using TrainedModelsOrleans.Runtime.MembershipService;

namespace TrainedModelsOrleans.Runtime.GrainDirectory;

/// <summary>
/// The grain_directory table: INSERT … ON CONFLICT returns the entry in effect (first writer wins);
/// an entry of a silo generation that is no longer alive is taken over with a conditional update.
/// </summary>
internal sealed class PostgresGrainDirectory(NpgsqlDataSource dataSource, SiloIdentity silo, RuntimeLog log) : IGrainDirectory
{
    public async Task RegisterAsync(ActivationData activation, CancellationToken cancellationToken)
    {
        var grainId = activation.Id.ToString();
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var owner = await ClaimAsync(grainId, activation.ActivationId, cancellationToken);
            if (owner.ActivationId == activation.ActivationId) return;
            if (owner.SiloId == silo.Name && owner.Generation == silo.Generation)
                throw new InvalidOperationException($"{activation.Id} is already registered by another activation on this silo.");
            if (await IsAliveAsync(owner.SiloId, owner.Generation, cancellationToken))
                throw new GrainActivatedElsewhereException(activation.Id, owner.SiloId, owner.Generation);
            if (await TakeOverAsync(grainId, owner.ActivationId, activation.ActivationId, cancellationToken))
            {
                log.DirectoryTakeover(grainId, owner.SiloId, owner.Generation);
                return;
            }
        }
        throw new InvalidOperationException($"Could not register {activation.Id} in the grain directory after 5 attempts.");
    }

    public async Task UnregisterAsync(ActivationData activation, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("DELETE FROM grain_directory WHERE grain_id = $1 AND activation_id = $2");
        command.Parameters.Add(new NpgsqlParameter { Value = activation.Id.ToString() });
        command.Parameters.Add(new NpgsqlParameter { Value = activation.ActivationId });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task UnregisterSiloAsync(string siloName, long generation, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("DELETE FROM grain_directory WHERE silo_id = $1 AND silo_generation = $2");
        command.Parameters.Add(new NpgsqlParameter { Value = siloName });
        command.Parameters.Add(new NpgsqlParameter { Value = generation });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private async Task<(string SiloId, long Generation, Guid ActivationId)> ClaimAsync(string grainId, Guid activationId, CancellationToken ct)
    {
        // The no-op update makes RETURNING yield the row already there when the insert conflicts.
        await using var command = dataSource.CreateCommand("""
            INSERT INTO grain_directory (grain_id, silo_id, silo_generation, activation_id) VALUES ($1, $2, $3, $4)
            ON CONFLICT (grain_id) DO UPDATE SET grain_id = EXCLUDED.grain_id
            RETURNING silo_id, silo_generation, activation_id
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = grainId });
        command.Parameters.Add(new NpgsqlParameter { Value = silo.Name });
        command.Parameters.Add(new NpgsqlParameter { Value = silo.Generation });
        command.Parameters.Add(new NpgsqlParameter { Value = activationId });
        await using var reader = await command.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return (reader.GetString(0), reader.GetInt64(1), reader.GetGuid(2));
    }

    private async Task<bool> IsAliveAsync(string siloId, long generation, CancellationToken ct)
    {
        // An older generation of this very node is its previous life: dead by definition.
        if (siloId == silo.Name && generation < silo.Generation) return false;
        await using var command = dataSource.CreateCommand("SELECT status FROM silos WHERE silo_id = $1 AND generation = $2");
        command.Parameters.Add(new NpgsqlParameter { Value = siloId });
        command.Parameters.Add(new NpgsqlParameter { Value = generation });
        var status = await command.ExecuteScalarAsync(ct) as string;
        return status is not null && SiloStatus.IsAlive(status);
    }

    private async Task<bool> TakeOverAsync(string grainId, Guid previous, Guid activationId, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand("""
            UPDATE grain_directory SET silo_id = $3, silo_generation = $4, activation_id = $5, created_on = now()
            WHERE grain_id = $1 AND activation_id = $2
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = grainId });
        command.Parameters.Add(new NpgsqlParameter { Value = previous });
        command.Parameters.Add(new NpgsqlParameter { Value = silo.Name });
        command.Parameters.Add(new NpgsqlParameter { Value = silo.Generation });
        command.Parameters.Add(new NpgsqlParameter { Value = activationId });
        return await command.ExecuteNonQueryAsync(ct) == 1;
    }
}
