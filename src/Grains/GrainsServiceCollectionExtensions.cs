using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using TrainedModelsOrleans.Grains.ModelStore;

namespace TrainedModelsOrleans.Grains;

public static class GrainsServiceCollectionExtensions
{
    /// <summary>The services the grains of this assembly take in their constructors.</summary>
    public static IServiceCollection AddTrainedModelGrains(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ModelStoreTables>();
        services.TryAddSingleton<OnnxModelInspector>();
        return services;
    }
}
