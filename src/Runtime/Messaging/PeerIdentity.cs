namespace TrainedModelsOrleans.Runtime.Messaging;

/// <summary>Who is at the other end of a connection, as announced in its hello.</summary>
/// <param name="IsClient">An external cluster client rather than a silo (its generation is 0).</param>
public sealed record PeerIdentity(string Name, long Generation, bool IsClient);
