namespace TrainedModelsOrleans.Grains.Deployments;

/// <summary>A deployment's durable state (grain_state 'deployment' / 'assignment'), written only by the coordinator.</summary>
public sealed class DeploymentRecord
{
    public TrainedModelAssignment? Assignment { get; set; }

    /// <summary>The planner's memory estimate for one copy of the model on a node.</summary>
    public long MemoryBytes { get; set; }
}
