using TrainedModelsOrleans.Runtime;

namespace TrainedModelsOrleans.Bench;

public interface IPingGrain : IGrainWithStringKey
{
    Task<int> Ping(int value);
}

public sealed class PingGrain : Grain, IPingGrain
{
    public Task<int> Ping(int value) => Task.FromResult(value + 1);
}

public sealed class TallyState
{
    public long Count { get; set; }
}

public interface ITallyGrain : IGrainWithStringKey
{
    Task<long> Add();
}

public sealed class TallyGrain([PersistentState("tally")] IPersistentState<TallyState> tally) : Grain, ITallyGrain
{
    public async Task<long> Add()
    {
        tally.State.Count++;
        await tally.WriteStateAsync();
        return tally.State.Count;
    }
}

/// <summary>The name of the silo whose services these are (each in-process silo of the cluster bench has its own).</summary>
public sealed record BenchSiloName(string Value);

/// <summary>A ping that can also say where it runs, so the cluster bench can prove its calls are remote.</summary>
public interface ISiloPingGrain : IGrainWithStringKey
{
    Task<int> Ping(int value);
    Task<string> Silo();
}

public sealed class SiloPingGrain(BenchSiloName silo) : Grain, ISiloPingGrain
{
    public Task<int> Ping(int value) => Task.FromResult(value + 1);
    public Task<string> Silo() => Task.FromResult(silo.Value);
}
