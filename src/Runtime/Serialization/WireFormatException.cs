namespace TrainedModelsOrleans.Runtime.Serialization;

/// <summary>A payload could not be decoded: truncated, corrupt, or not matching the declared types.</summary>
public sealed class WireFormatException(string message, Exception? inner = null) : Exception(message, inner);
