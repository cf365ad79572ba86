using System.Runtime.ExceptionServices;

namespace TrainedModelsOrleans.Runtime.Serialization;

/// <summary>
/// An exception thrown on another process whose type could not be recreated here; it keeps the original type name,
/// message and stack trace.
/// </summary>
public sealed class RemoteException : Exception
{
    public RemoteException(string originalType, string message, string? remoteStackTrace, Exception? inner = null)
        : base(message, inner)
    {
        OriginalType = originalType;
        RemoteStackTrace = remoteStackTrace;
        if (!string.IsNullOrEmpty(remoteStackTrace)) ExceptionDispatchInfo.SetRemoteStackTrace(this, remoteStackTrace);
    }

    /// <summary>The full name of the exception's type on the process that threw it.</summary>
    public string OriginalType { get; }

    public string? RemoteStackTrace { get; }

    public override string ToString() => $"{OriginalType} (remote): {base.ToString()}";
}
