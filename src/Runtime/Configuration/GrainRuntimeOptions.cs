namespace TrainedModelsOrleans.Runtime.Configuration;

/// <summary>The runtime's knobs, with Orleans' defaults where Orleans has one.</summary>
public sealed class GrainRuntimeOptions
{
    /// <summary>How long a caller waits for a grain call before it gets a TimeoutException (Orleans: 30 s).</summary>
    public TimeSpan ResponseTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>An activation idle this long is collected (Orleans: 15 min).</summary>
    public TimeSpan CollectionAge { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How often idle activations are looked for (Orleans: 1 min).</summary>
    public TimeSpan CollectionQuantum { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Per grain type overrides of <see cref="CollectionAge"/>, keyed by grain type name.</summary>
    public Dictionary<string, TimeSpan> ClassSpecificCollectionAge { get; } = new();

    /// <summary>Bound on OnActivateAsync / OnDeactivateAsync (Orleans: 30 s each).</summary>
    public TimeSpan ActivationTimeout { get; set; } = TimeSpan.FromSeconds(30);

    public TimeSpan DeactivationTimeout { get; set; } = TimeSpan.FromSeconds(30);

    public void Validate()
    {
        Positive(ResponseTimeout, nameof(ResponseTimeout));
        Positive(CollectionAge, nameof(CollectionAge));
        Positive(CollectionQuantum, nameof(CollectionQuantum));
        Positive(ActivationTimeout, nameof(ActivationTimeout));
        Positive(DeactivationTimeout, nameof(DeactivationTimeout));
    }

    private static void Positive(TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(name, value, $"{name} must be positive.");
    }
}

/// <summary>Who this silo is in the membership table.</summary>
public sealed class SiloOptions
{
    /// <summary>Stable node name; the default is the machine name.</summary>
    public string SiloName { get; set; } = Environment.MachineName.ToLowerInvariant();

    /// <summary>host:port the silo transport listens on for peers and clients (port 0 = any free port).</summary>
    public string Address { get; set; } = "127.0.0.1:0";

    /// <summary>host:port clients use; the default is the silo address (one listener serves both).</summary>
    public string? GatewayAddress { get; set; }

    public int AllocatedProcessors { get; set; } = Environment.ProcessorCount;

    public long MemoryBytes { get; set; } = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;

    /// <summary>How often the silo refreshes its heartbeat row, declares silent peers dead and re-reads the membership.</summary>
    public TimeSpan HeartbeatPeriod { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>A silo whose heartbeat is older than this is declared dead by a peer; a silo that cannot
    /// refresh its own heartbeat for nearly this long (two heartbeat periods less) fences itself first.</summary>
    public TimeSpan DeathTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a silo may go without writing its heartbeat before it fences itself: two heartbeat periods
    /// short of the death timeout (at least half of it), so it has stopped before any peer may declare it dead.
    /// </summary>
    public TimeSpan SelfFenceAfter => TimeSpan.FromTicks(Math.Max((DeathTimeout - 2 * HeartbeatPeriod).Ticks, DeathTimeout.Ticks / 2));

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(SiloName)) throw new ArgumentException("SiloName must not be empty.", nameof(SiloName));
        if (AllocatedProcessors < 1) throw new ArgumentOutOfRangeException(nameof(AllocatedProcessors), AllocatedProcessors, "AllocatedProcessors must be at least 1.");
        if (MemoryBytes < 1) throw new ArgumentOutOfRangeException(nameof(MemoryBytes), MemoryBytes, "MemoryBytes must be positive.");
        if (HeartbeatPeriod <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(HeartbeatPeriod), HeartbeatPeriod, "HeartbeatPeriod must be positive.");
        if (DeathTimeout < HeartbeatPeriod * 3)
            throw new ArgumentOutOfRangeException(nameof(DeathTimeout), DeathTimeout, "DeathTimeout must be at least three times HeartbeatPeriod.");
    }
}
