using Orleans;

namespace TrainedModelsOrleans.Grains.Deployments;

/// <summary>A deployment's durable state (the DeploymentGrain's transactional state "deployment"), written only in the coordinator's transactions.</summary>
[GenerateSerializer(GenerateFieldIds = GenerateFieldIds.PublicProperties), Alias("tmo.DeploymentRecord")]
public sealed class DeploymentRecord
{
    /// <summary>Null when there is no such deployment (never started, or stopped).</summary>
    public TrainedModelAssignment? Assignment { get; set; }

    /// <summary>The planner's memory estimate for one copy of the model on a node.</summary>
    public long MemoryBytes { get; set; }
}
