namespace TrainedModelsOrleans.Inference.OnnxRuntime;

/// <summary>How a session is created. The defaults suit a serving node that runs many callers on few cores.</summary>
public sealed record OnnxSessionOptions
{
    public static readonly OnnxSessionOptions Default = new();

    /// <summary>Threads inside one operator. 1 = the caller's thread only; 0 = ORT's default (one per physical core).</summary>
    public int IntraOpThreads { get; init; } = 1;

    /// <summary>Threads across operators; only used by parallel execution mode, which we do not enable.</summary>
    public int InterOpThreads { get; init; } = 1;

    /// <summary>Whether idle pool threads spin; spinning burns cores for little gain when intra-op threads exceed 1.</summary>
    public bool AllowSpinning { get; init; }

    /// <summary>0 none, 1 basic, 2 extended, 3 layout, 99 all.</summary>
    public int GraphOptimizationLevel { get; init; } = 99;

    public bool EnableCpuMemArena { get; init; } = true;
}
