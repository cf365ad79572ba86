namespace TrainedModelsOrleans.Runtime.Cluster;

/// <summary>
/// The silo that hosts (or was to host) the call's target is dead, stopping or unreachable.
/// <see cref="MayHaveRun"/> says whether the call could have run: one that never reached its grain is safe
/// to send elsewhere (the runtime does so itself where it can).
/// </summary>
public sealed class SiloUnavailableException(string message, Exception? inner = null) : Exception(message, inner)
{
    public bool MayHaveRun { get; init; }
}
