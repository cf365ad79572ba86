namespace TrainedModelsOrleans.Runtime.Messaging;

public readonly record struct CallResponse(CallStatus Status, ReadOnlyMemory<byte> Payload);
