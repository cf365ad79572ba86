using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.ModelStore;
using TrainedModelsOrleans.Grains.Serving;
using TrainedModelsOrleans.Inference.Sessions;
using TrainedModelsOrleans.Runtime.Hosting;

namespace TrainedModelsOrleans.Grains;

public static class GrainsServiceCollectionExtensions
{
    /// <summary>The services the grains of this assembly take in their constructors.</summary>
    public static IServiceCollection AddTrainedModelGrains(this IServiceCollection services, MlSettings? settings = null,
        ServingOptions? serving = null)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ModelStoreTables>();
        services.TryAddSingleton<OnnxModelInspector>();
        services.TryAddSingleton<DeploymentTables>();
        services.TryAddSingleton<SharedSessions>();
        services.TryAddSingleton(serving ?? new ServingOptions());
        services.TryAddSingleton<DeploymentServing>();
        services.TryAddSingleton<InferenceTargets>();
        services.TryAddSingleton<InferenceRouter>();
        services.TryAddSingleton<TreeModels>();
        services.TryAddSingleton(settings ?? new MlSettings());
        services.TryAddSingleton<NodeAgentService>();
        services.AddHostedService(sp => sp.GetRequiredService<NodeAgentService>());
        services.AddSingleton<ISiloShutdownParticipant>(sp => sp.GetRequiredService<NodeAgentService>());
        return services;
    }
}
