namespace TrainedModelsOrleans.Runtime.Messaging;

/// <summary>The peer at <see cref="Address"/> could not be reached, or its connection dropped before the response.</summary>
/// <param name="wasSent">False only when the call certainly never reached the socket (so it certainly did not run).</param>
public sealed class PeerUnavailableException(string address, bool wasSent, string message, Exception? inner = null)
    : Exception(message, inner)
{
    public string Address { get; } = address;

    public bool WasSent { get; } = wasSent;
}
