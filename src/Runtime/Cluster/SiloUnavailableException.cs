namespace TrainedModelsOrleans.Runtime.Cluster;

/// <summary>
/// The silo that hosts (or was to host) the call's target is dead, stopping or unreachable. Whether the
/// call ran is said in the message: a call that never left the caller is retried by the runtime itself.
/// </summary>
public sealed class SiloUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
