namespace TrainedModelsOrleans.Grains.Serving;

/// <summary>This silo as an ML node: its name (the silo name) and what it offers to model allocations.</summary>
public sealed record LocalNode(string Name, int Processors, long MemoryBytes);

/// <summary>An inference worker's key: the node it runs on, then the deployment ("node-2/my-deployment").</summary>
public static class InferenceWorkerKey
{
    public static string Of(string node, string deploymentId) => node + "/" + deploymentId;

    public static string DeploymentIdOf(string key) => key[(key.IndexOf('/', StringComparison.Ordinal) + 1)..];
}
