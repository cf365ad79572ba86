using System.Globalization;

namespace TrainedModelsOrleans.Grains.Assignment.Planning;

/// <summary>The texts ES's TrainedModelAssignmentRebalancer (explainAssignments) gives an unsatisfied deployment.</summary>
internal static class AssignmentReasons
{
    /// <summary>ES MachineLearning.NATIVE_EXECUTABLE_CODE_OVERHEAD.</summary>
    public const long NativeExecutableCodeOverheadBytes = 30L * 1024 * 1024;

    public const string NoMlNodes = "No ML nodes exist in the cluster";

    public static string OnNode(string nodeId, string reason) =>
        $"Could not assign (more) allocations on node [{nodeId}]. Reason: {reason}";

    /// <summary>ES explainAssignment: memory first, then processors; null when the node lacks neither.</summary>
    public static string? ForNode(PlannerNode node, PlannerDeployment deployment, long freeMemory, int freeCores, bool overheadPaid)
    {
        if (deployment.MemoryBytes > freeMemory)
        {
            var overhead = overheadPaid ? 0 : NativeExecutableCodeOverheadBytes;
            return "This node has insufficient available memory. "
                + $"Available memory for ML [{ByteSizeText.WithBytes(node.MaxMlMemoryBytes ?? node.AvailableMemoryBytes)}], "
                + $"free memory [{ByteSizeText.WithBytes(freeMemory + overhead)}], "
                + $"estimated memory required for this model [{ByteSizeText.WithBytes(deployment.MemoryBytes + overhead)}].";
        }
        if (deployment.ThreadsPerAllocation > freeCores)
        {
            return string.Create(CultureInfo.InvariantCulture,
                $"This node has insufficient allocated processors. Available processors [{node.Cores}], free processors [{freeCores}], "
                + $"processors required for each allocation of this model [{deployment.ThreadsPerAllocation}]");
        }
        return null;
    }
}
