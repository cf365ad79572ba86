namespace TrainedModelsOrleans.Runtime.Messaging;

public enum CallStatus : byte
{
    /// <summary>The payload is the serialized result.</summary>
    Ok = 0,

    /// <summary>The payload is the serialized exception (empty if the handler itself failed without one).</summary>
    Error = 1,

    /// <summary>The receiver is not the generation the caller addressed; the call was not run, so it is safe to retry.</summary>
    WrongSilo = 2,

    /// <summary>The receiver is stopping or fenced and did not run the call; safe to retry elsewhere.</summary>
    Unavailable = 3,
}
