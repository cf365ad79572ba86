namespace TrainedModelsOrleans.Runtime.Messaging;

/// <summary>A peer broke the framing protocol (bad hello, junk, oversized frame); its connection is closed.</summary>
public sealed class WireProtocolException(string message) : Exception(message);
