namespace TrainedModelsOrleans.Runtime.MembershipService;

/// <summary>
/// One reading of the membership table, as every silo reads it: the same rows give the same view.
/// A silo name maps to at most one live generation (a restart declares its earlier lives dead). A silo
/// still joining is not alive here: it serves no calls until its transport is up and it turned active.
/// </summary>
public sealed class MembershipView
{
    private readonly Dictionary<string, SiloEntry> _aliveByName;

    public MembershipView(IReadOnlyList<SiloEntry> entries)
    {
        Entries = entries;
        _aliveByName = new Dictionary<string, SiloEntry>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            if (entry.Status is not (SiloStatus.Active or SiloStatus.ShuttingDown)) continue;
            if (!_aliveByName.TryGetValue(entry.SiloId, out var known) || known.Generation < entry.Generation)
                _aliveByName[entry.SiloId] = entry;
        }
    }

    public static MembershipView Empty { get; } = new([]);

    public IReadOnlyList<SiloEntry> Entries { get; }

    public IEnumerable<SiloEntry> Alive => _aliveByName.Values;

    /// <summary>The live generation of the silo with this name.</summary>
    public bool TryGetAlive(string siloName, out SiloEntry entry) => _aliveByName.TryGetValue(siloName, out entry!);

    public bool IsAlive(string siloName, long generation) =>
        _aliveByName.TryGetValue(siloName, out var entry) && entry.Generation == generation;

    /// <summary>What a change of view is judged by: heartbeats move every second and do not count.</summary>
    public string Signature() => string.Join(';', _aliveByName.Values.OrderBy(e => e.SiloId, StringComparer.Ordinal)
        .Select(e => $"{e.SiloId}@{e.Generation}:{e.Status}:{e.Address}"));
}

/// <summary>The cluster's membership as this process sees it, refreshed every heartbeat period.</summary>
public interface IClusterMembership
{
    MembershipView Current { get; }

    /// <summary>Raised (on a pool thread) after the set of live silos changed.</summary>
    event Action<MembershipView>? Changed;
}
