using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using TrainedModelsOrleans.Runtime.Serialization;

namespace TrainedModelsOrleans.Runtime.Tests;

/// <summary>Says where it runs: which silo and which activation.</summary>
public interface IWhereGrain : IGrainWithStringKey
{
    Task<Location> Where();
    Task<int> Add(int a, int b);
    Task<byte[]> Reverse(byte[] data);
    Task Fail(string message);
    Task<int> Slow(int ms);
}

public sealed record Location(string Silo, Guid Activation);

public static class WhereProbe
{
    /// <summary>Every activation ever made, per key: (silo, activation).</summary>
    public static readonly ConcurrentDictionary<string, ConcurrentBag<(string, Guid)>> Activations = new();
}

public sealed class WhereGrain(SiloName silo) : Grain, IWhereGrain
{
    private readonly Guid _activation = Guid.NewGuid();

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        WhereProbe.Activations.GetOrAdd(GetPrimaryKeyString(), _ => new()).Add((silo.Value, _activation));
        return Task.CompletedTask;
    }

    public Task<Location> Where() => Task.FromResult(new Location(silo.Value, _activation));
    public Task<int> Add(int a, int b) => Task.FromResult(a + b);
    public Task<byte[]> Reverse(byte[] data) => Task.FromResult(data.Reverse().ToArray());
    public Task Fail(string message) => throw new GrainFaultException(message, 7);
    public async Task<int> Slow(int ms)
    {
        await Task.Delay(ms);
        return ms;
    }
}

/// <summary>A stateless worker: one pool per silo; callers may pin it to a silo.</summary>
public interface ILocalWorkerGrain : IGrainWithStringKey
{
    Task<string> Silo();
}

[StatelessWorker(2)]
public sealed class LocalWorkerGrain(SiloName silo) : Grain, ILocalWorkerGrain
{
    public Task<string> Silo() => Task.FromResult(silo.Value);
}

/// <summary>Keyed by a silo name, and lives there.</summary>
public interface INodeAgentGrain : IGrainWithStringKey
{
    Task<string> Silo();
}

[PlaceOnSiloNamedByKey]
public sealed class NodeAgentGrain(SiloName silo) : Grain, INodeAgentGrain
{
    public Task<string> Silo() => Task.FromResult(silo.Value);
}

/// <summary>GrainFaultException keeps its type and code between silos, as a host's own exceptions would.</summary>
public sealed class GrainFaultCodec : IExceptionCodec
{
    public string Kind => "test.grain_fault";
    public bool CanEncode(Exception e) => e is GrainFaultException;
    public JsonObject Encode(Exception e, WireSerializer serializer) =>
        new() { ["message"] = e.Message, ["code"] = ((GrainFaultException)e).Code };
    public Exception Decode(JsonObject data, WireSerializer serializer) =>
        new GrainFaultException((string)data["message"]!, (int)data["code"]!);
}
