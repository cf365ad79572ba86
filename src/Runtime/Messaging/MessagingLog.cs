using Microsoft.Extensions.Logging;

namespace TrainedModelsOrleans.Runtime.Messaging;

/// <summary>The transport's structured log events: quiet unless something is wrong.</summary>
internal sealed partial class MessagingLog(ILogger logger)
{
    private readonly ILogger _logger = logger;

    [LoggerMessage(EventId = 300, Level = LogLevel.Debug, Message = "Connected to {Address}: {Peer} generation {Generation}")]
    public partial void Connected(string address, string peer, long generation);

    [LoggerMessage(EventId = 301, Level = LogLevel.Debug, Message = "Accepted {Remote}: {Peer} generation {Generation} (client {IsClient})")]
    public partial void Accepted(string remote, string peer, long generation, bool isClient);

    [LoggerMessage(EventId = 302, Level = LogLevel.Debug, Message = "Connection with {Remote} closed: {Reason}")]
    public partial void Closed(string remote, string reason);

    [LoggerMessage(EventId = 303, Level = LogLevel.Warning, Message = "Protocol violation by {Remote}, closing the connection: {Reason}")]
    public partial void ProtocolViolation(string remote, string reason);

    [LoggerMessage(EventId = 304, Level = LogLevel.Warning, Message = "Handler failed on call {Interface}.{Method}; replying Error")]
    public partial void HandlerFailed(string @interface, string method, Exception error);

    [LoggerMessage(EventId = 305, Level = LogLevel.Warning, Message = "Accepting connections on {EndPoint} failed")]
    public partial void AcceptFailed(string endPoint, Exception error);

    [LoggerMessage(EventId = 306, Level = LogLevel.Debug, Message = "Connecting to {Address} failed: {Reason}")]
    public partial void ConnectFailed(string address, string reason);

    [LoggerMessage(EventId = 307, Level = LogLevel.Warning, Message = "Reply of {Bytes} bytes to {Remote} exceeds the frame limit; replying Error instead")]
    public partial void ReplyTooLarge(string remote, long bytes);

    [LoggerMessage(EventId = 308, Level = LogLevel.Error, Message = "Connection with {Remote} failed unexpectedly")]
    public partial void Unexpected(string remote, Exception error);
}
