using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Orleans;
using TrainedModelsOrleans.Grains.Deployments;

namespace TrainedModelsOrleans.Grains.ModelStore;

/// <summary>What the upgrade from the home-made runtime calls on a model grain: take this record as the model's state, unless it has one.</summary>
public interface ILegacyModelImport : IGrainWithStringKey
{
    Task<bool> Import(TrainedModelRecord record);
}

/// <summary>
/// Brings the models and aliases of a database written by the home-made runtime (kept as legacy_grain_state and
/// legacy_ml_ids by db/0007) into the grains, once: each model through its grain (its state and its namespace
/// claim in one transaction), then each alias through the alias API's own rules; imported rows are deleted, and
/// the legacy tables dropped when empty. Deployments are not carried over: start them again (the log says which).
/// Every silo tries at start; the work is idempotent, so racing silos do no harm.
/// </summary>
public sealed partial class LegacyModelImport(NpgsqlDataSource dataSource, IGrainFactory grains, ILogger<LegacyModelImport> logger)
    : IHostedLifecycleService
{
    public async Task StartedAsync(CancellationToken cancellationToken)
    {
        try
        {
            await ImportAsync(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogFailed(logger, e);
        }
    }

    public async Task ImportAsync(CancellationToken ct)
    {
        if (!await ExistsAsync("legacy_grain_state", ct)) return;
        var models = new List<(string Id, string Json)>();
        var deployments = new List<string>();
        await using (var command = dataSource.CreateCommand(
                         "SELECT grain_type, grain_key, payload::text FROM legacy_grain_state WHERE payload IS NOT NULL ORDER BY grain_key"))
        await using (var reader = await command.ExecuteReaderAsync(ct))
            while (await reader.ReadAsync(ct))
            {
                if (reader.GetString(0) == "trainedmodel") models.Add((reader.GetString(1), reader.GetString(2)));
                else if (reader.GetString(0) == "deployment") deployments.Add(reader.GetString(1));
            }
        foreach (var (id, json) in models)
        {
            var record = JsonSerializer.Deserialize<TrainedModelRecord>(json);
            if (record?.Config is not null && await grains.GetGrain<ILegacyModelImport>(id).Import(record)) LogImportedModel(logger, id);
            await ExecuteAsync("DELETE FROM legacy_grain_state WHERE grain_type = 'trainedmodel' AND grain_key = $1", id, ct);
        }
        if (await ExistsAsync("legacy_ml_ids", ct))
        {
            var aliases = new List<(string Alias, string ModelId)>();
            await using (var command = dataSource.CreateCommand("SELECT id, model_id FROM legacy_ml_ids WHERE kind = 'alias' ORDER BY id"))
            await using (var reader = await command.ExecuteReaderAsync(ct))
                while (await reader.ReadAsync(ct)) aliases.Add((reader.GetString(0), reader.GetString(1)));
            foreach (var (alias, modelId) in aliases)
            {
                try
                {
                    await grains.GetGrain<IModelAliasGrain>(alias).Put(new PutModelAliasRequest { ModelId = modelId, ModelAlias = alias, Reassign = true });
                    LogImportedAlias(logger, alias, modelId);
                }
                catch (Errors.ElasticsearchException e)
                {
                    LogAliasNotImported(logger, alias, modelId, e.Reason);
                }
                await ExecuteAsync("DELETE FROM legacy_ml_ids WHERE id = $1", alias, ct);
            }
        }
        foreach (var deployment in deployments) LogDeploymentNotCarried(logger, deployment);
        await ExecuteAsync("DROP TABLE IF EXISTS legacy_grain_state", null, ct);
        await ExecuteAsync("DROP TABLE IF EXISTS legacy_ml_ids", null, ct);
    }

    private async Task<bool> ExistsAsync(string table, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand("SELECT to_regclass($1) IS NOT NULL");
        command.Parameters.Add(new NpgsqlParameter { Value = table });
        return (bool)(await command.ExecuteScalarAsync(ct))!;
    }

    private async Task ExecuteAsync(string sql, string? argument, CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand(sql);
        if (argument is not null) command.Parameters.Add(new NpgsqlParameter { Value = argument });
        await command.ExecuteNonQueryAsync(ct);
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Information, Message = "Imported model {ModelId} from the previous runtime's tables")]
    private static partial void LogImportedModel(ILogger logger, string modelId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Imported alias {Alias} → {ModelId} from the previous runtime's tables")]
    private static partial void LogImportedAlias(ILogger logger, string alias, string modelId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Alias {Alias} → {ModelId} was not imported: {Reason}")]
    private static partial void LogAliasNotImported(ILogger logger, string alias, string modelId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Deployment {DeploymentId} of the previous runtime is not carried over; start it again")]
    private static partial void LogDeploymentNotCarried(ILogger logger, string deploymentId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Importing the previous runtime's models failed; it is tried again at the next start")]
    private static partial void LogFailed(ILogger logger, Exception error);
}
