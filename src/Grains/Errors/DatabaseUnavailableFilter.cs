using System.Data.Common;
using Orleans;
using TrainedModelsOrleans.Grains.Errors;

namespace TrainedModelsOrleans.Grains.Errors;

/// <summary>
/// A grain call that failed because PostgreSQL could not be reached answers as Elasticsearch answers an unavailable
/// cluster (503), with the driver's message, instead of a driver exception the caller cannot even deserialize.
/// Constraint violations and other answers from a reachable server are not availability problems: they pass as they are.
/// </summary>
public sealed class DatabaseUnavailableFilter : IIncomingGrainCallFilter
{
    public async Task Invoke(IIncomingGrainCallContext context)
    {
        try
        {
            await context.Invoke();
        }
        catch (DbException error) when (error.IsTransient || error is not Npgsql.PostgresException)
        {
            throw new ElasticsearchException(503, "status_exception", $"the cluster's database is not available: {error.Message}");
        }
    }
}
