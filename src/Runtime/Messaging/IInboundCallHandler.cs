namespace TrainedModelsOrleans.Runtime.Messaging;

/// <summary>Runs calls that arrive on a <see cref="MessageListener"/>.</summary>
public interface IInboundCallHandler
{
    /// <summary>
    /// Called on the connection's read loop: must not block. Reply with <see cref="InboundCall.Reply"/>, now or later
    /// from any thread. A handler that throws gets an <see cref="CallStatus.Error"/> reply with an empty payload.
    /// </summary>
    void Handle(InboundCall call);
}
