using Orleans.Configuration;
using TrainedModelsOrleans.Grains.Aliases;
using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.ModelStore;
using TrainedModelsOrleans.Grains.Pipelines;
using TrainedModelsOrleans.Grains.Serving;

namespace TrainedModelsOrleans.Grains;

/// <summary>
/// Activations keyed by a user's id — a model, a deployment and its workers, an alias, a pipeline — are collected after a
/// short idle time rather than Orleans' 15 minutes: a churn of ids (create, use, delete, as a CI system or the soak does)
/// must not leave an activation per id behind for that long (about 13 KB each). Their state is in PostgreSQL and none
/// holds timers or in-memory work (a worker's sessions live in the node's <see cref="DeploymentServing"/>), so the next
/// call simply activates anew. Grains that found nothing go at once (<see cref="Errors.UnknownIdDeactivationFilter"/>).
/// </summary>
public static class IdKeyedActivations
{
    public static readonly TimeSpan DefaultCollectionAge = TimeSpan.FromMinutes(1);

    /// <summary>How often Orleans looks for idle activations; it must be below every collection age.</summary>
    public static readonly TimeSpan DefaultCollectionQuantum = TimeSpan.FromSeconds(30);

    public static IReadOnlyList<Type> GrainClasses { get; } =
        [typeof(TrainedModelGrain), typeof(DeploymentGrain), typeof(InferenceWorkerGrain), typeof(ModelAliasGrain), typeof(IngestPipelineGrain)];

    public static void Configure(GrainCollectionOptions options, TimeSpan collectionAge)
    {
        foreach (var grainClass in GrainClasses) options.ClassSpecificCollectionAge[grainClass.FullName!] = collectionAge;
    }
}
