using Orleans;
using Orleans.Concurrency;
using Orleans.Runtime;
using Orleans.Transactions;
using Orleans.Transactions.Abstractions;

namespace TrainedModelsOrleans.Storage.Tests;

// Grains for OrleansSchemaTests: one plain persistent state and a transactional pair, all on the
// ADO.NET provider named "Default" over db/0005_orleans.sql.

[GenerateSerializer]
public sealed class CounterState
{
    [Id(0)] public int Count { get; set; }
    [Id(1)] public string Label { get; set; } = "";
}

public interface ISchemaCounterGrain : IGrainWithStringKey
{
    /// <summary>Adds, writes the state and returns the ETag after the write.</summary>
    Task<string?> Add(int amount, string label);

    Task<CounterState> Get();
}

public sealed class SchemaCounterGrain(
    [PersistentState(SchemaCounterGrain.StateName, SchemaCounterGrain.StorageName)] IPersistentState<CounterState> state)
    : Grain, ISchemaCounterGrain
{
    /// <summary>The state name: GrainTypeString in OrleansStorage.</summary>
    public const string StateName = "schema-test-counter";

    public const string StorageName = "Default";

    public async Task<string?> Add(int amount, string label)
    {
        state.State.Count += amount;
        state.State.Label = label;
        await state.WriteStateAsync();
        return state.Etag;
    }

    public Task<CounterState> Get() => Task.FromResult(state.State);
}

[GenerateSerializer]
public sealed class Balance
{
    [Id(0)] public int Value { get; set; }
}

public interface ISchemaAccountGrain : IGrainWithStringKey
{
    [Transaction(TransactionOption.CreateOrJoin)]
    Task Deposit(int amount);

    /// <summary>Throws <see cref="InvalidOperationException"/> when the balance is short.</summary>
    [Transaction(TransactionOption.Join)]
    Task Withdraw(int amount);

    [Transaction(TransactionOption.CreateOrJoin)]
    Task<int> GetBalance();
}

public sealed class SchemaAccountGrain(
    [TransactionalState(SchemaAccountGrain.StateName, SchemaCounterGrain.StorageName)] ITransactionalState<Balance> balance)
    : Grain, ISchemaAccountGrain
{
    public const string StateName = "schema-test-balance";

    public Task Deposit(int amount) => balance.PerformUpdate(b => b.Value += amount);

    public Task Withdraw(int amount) => balance.PerformUpdate(b =>
    {
        if (b.Value < amount) throw new InvalidOperationException($"Balance {b.Value} is short of {amount}");
        b.Value -= amount;
    });

    public Task<int> GetBalance() => balance.PerformRead(b => b.Value);
}

public interface ISchemaTransferGrain : IGrainWithIntegerKey
{
    /// <summary>Deposits into <paramref name="to"/> first, then withdraws from <paramref name="from"/>, in one transaction.</summary>
    [Transaction(TransactionOption.Create)]
    Task Transfer(string from, string to, int amount);
}

[StatelessWorker]
public sealed class SchemaTransferGrain : Grain, ISchemaTransferGrain
{
    public async Task Transfer(string from, string to, int amount)
    {
        await GrainFactory.GetGrain<ISchemaAccountGrain>(to).Deposit(amount);
        await GrainFactory.GetGrain<ISchemaAccountGrain>(from).Withdraw(amount);
    }
}
