using Orleans;
using Orleans.Concurrency;
using Orleans.Runtime;
using Orleans.Placement;
using TrainedModelsOrleans.Grains.Placement;

namespace TrainedModelsOrleans.Bench;

// The runtime suite's grains. The Orleans SDK generates their proxies and invokers into this assembly, whose
// application part the co-hosted silos load with the product's grains (the bench is the entry assembly).

public interface IPingGrain : IGrainWithStringKey
{
    Task<int> Ping(int value);
}

/// <summary>A trivial grain, placed on the silo that first calls it (the local-call rows).</summary>
[PreferLocalPlacement]
public sealed class PingGrain : Grain, IPingGrain
{
    public Task<int> Ping(int value) => Task.FromResult(value + 1);
}

public interface IStatelessPingGrain : IGrainWithStringKey
{
    Task<int> Ping(int value);
}

/// <summary>The same ping as a stateless worker: always local, up to one activation per core on each silo.</summary>
[StatelessWorker]
public sealed class StatelessPingGrain : Grain, IStatelessPingGrain
{
    public Task<int> Ping(int value) => Task.FromResult(value + 1);
}

/// <summary>A ping that says where it runs, pinned to the silo its key names ("silo-name/…"): the cross-silo rows call it on the other silo.</summary>
public interface ISiloPingGrain : IGrainWithStringKey
{
    Task<int> Ping(int value);
    Task<string> Silo();
}

[SiloNamePlacement]
public sealed class SiloPingGrain(ILocalSiloDetails silo) : Grain, ISiloPingGrain
{
    public Task<int> Ping(int value) => Task.FromResult(value + 1);
    public Task<string> Silo() => Task.FromResult(silo.Name);
}

/// <summary>The state of <see cref="TallyGrain"/> (System.Text.Json in the ADO.NET storage row, as the product's grains).</summary>
[GenerateSerializer]
public sealed class TallyState
{
    [Id(0)] public long Count { get; set; }
}

public interface ITallyGrain : IGrainWithStringKey
{
    Task<long> Add();
}

/// <summary>One persistent write per call: ADO.NET storage on PostgreSQL, version-checked (ETag).</summary>
public sealed class TallyGrain([PersistentState("bench-tally", "Default")] IPersistentState<TallyState> tally) : Grain, ITallyGrain
{
    public async Task<long> Add()
    {
        tally.State.Count++;
        await tally.WriteStateAsync();
        return tally.State.Count;
    }
}
