using Microsoft.Extensions.Logging;

namespace TrainedModelsOrleans.Runtime.Catalog;

/// <summary>The runtime's structured log events, in one place.</summary>
internal sealed partial class RuntimeLog(ILogger logger)
{
    private readonly ILogger _logger = logger;

    [LoggerMessage(EventId = 100, Level = LogLevel.Warning, Message = "Deactivation of {Grain} failed")]
    private partial void DeactivationFailedCore(string grain, Exception error);
    public void DeactivationFailed(GrainId grain, Exception error) => DeactivationFailedCore(grain.ToString(), error);

    [LoggerMessage(EventId = 101, Level = LogLevel.Debug, Message = "Collected {Count} idle activations")]
    public partial void Collected(int count);

    [LoggerMessage(EventId = 102, Level = LogLevel.Information, Message = "Took over directory entry of {Grain} from dead silo {Silo} generation {Generation}")]
    public partial void DirectoryTakeover(string grain, string silo, long generation);

    [LoggerMessage(EventId = 103, Level = LogLevel.Information, Message = "Silo {Silo} generation {Generation} joined at {Address} with {Processors} processors and {MemoryBytes} bytes")]
    public partial void SiloJoined(string silo, long generation, string address, int processors, long memoryBytes);

    [LoggerMessage(EventId = 104, Level = LogLevel.Warning, Message = "Heartbeat of silo {Silo} failed")]
    public partial void HeartbeatFailed(string silo, Exception error);

    [LoggerMessage(EventId = 105, Level = LogLevel.Information, Message = "Silo {Silo} generation {Generation} left; {Count} activations deactivated")]
    public partial void SiloLeft(string silo, long generation, int count);

    [LoggerMessage(EventId = 106, Level = LogLevel.Error, Message = "Background task {Task} failed")]
    public partial void BackgroundFailed(string task, Exception error);

    [LoggerMessage(EventId = 107, Level = LogLevel.Warning, Message = "Silo {Silo} generation {Generation} declared dead by {Declarer}: its heartbeat is older than the death timeout")]
    public partial void SiloDeclaredDead(string silo, long generation, string declarer);

    [LoggerMessage(EventId = 108, Level = LogLevel.Critical, Message = "Silo {Silo} generation {Generation} fenced itself: {Reason}")]
    public partial void SiloFenced(string silo, long generation, string reason);

    [LoggerMessage(EventId = 109, Level = LogLevel.Information, Message = "Membership changed: {Alive} alive silos ({Silos})")]
    public partial void MembershipChanged(int alive, string silos);

    [LoggerMessage(EventId = 110, Level = LogLevel.Warning, Message = "Silo {Silo}: an earlier generation may still be serving; waiting {Seconds:0.0} s for it to fence itself")]
    public partial void WaitingForPredecessor(string silo, double seconds);
}
