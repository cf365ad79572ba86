using TrainedModelsOrleans.Runtime.Configuration;
using TrainedModelsOrleans.Runtime.GrainDirectory;
using TrainedModelsOrleans.Runtime.Proxies;

namespace TrainedModelsOrleans.Runtime.Catalog;

/// <summary>What an activation needs from the silo hosting it.</summary>
internal interface ISiloRuntime
{
    GrainRuntimeOptions Options { get; }
    IGrainDirectory Directory { get; }
    GrainActivator GrainActivator { get; }
    RuntimeLog Log { get; }
    IGrainFactory GrainFactory { get; }

    /// <summary>Sends a request again, to whichever activation now serves the grain.</summary>
    void Redispatch(GrainId target, GrainClassInfo grainClass, GrainRequest request);

    void ActivationRemoved(ActivationData activation);

    /// <summary>The directory says the grain's activation lives on that silo generation.</summary>
    void LocationLearned(GrainId grain, string silo, long generation);
}
