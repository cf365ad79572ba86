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
