using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TrainedModelsOrleans.Runtime.Cluster;
using TrainedModelsOrleans.Runtime.Messaging;
using TrainedModelsOrleans.Runtime.Proxies;
using TrainedModelsOrleans.Runtime.Serialization;

namespace TrainedModelsOrleans.Runtime.Client;

public sealed class ClusterClientOptions
{
    /// <summary>host:port of silo gateways (any silo's transport address). Calls go to one; it fails over to the next.</summary>
    public List<string> Gateways { get; } = new();

    /// <summary>Default deadline of a call; [ResponseTimeout] on a method overrides it (Orleans: 30 s).</summary>
    public TimeSpan ResponseTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A gateway that refused a connection is skipped for this long.</summary>
    public TimeSpan GatewayRetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    public string ClientName { get; set; } = $"client-{Environment.MachineName.ToLowerInvariant()}-{Environment.ProcessId}";
}

/// <summary>
/// What another .NET service uses to call grains by interface: every call goes to a gateway silo, which
/// routes it to the grain's activation. A gateway that cannot be reached is skipped and the call is sent
/// to the next one; a call lost in flight (the gateway died after it was sent) fails with
/// <see cref="SiloUnavailableException"/>, since it may have run.
/// </summary>
public sealed class ClusterClient : IClusterClient, IAsyncDisposable
{
    private readonly ClusterClientOptions _options;
    private readonly PeerConnections _connections;
    private readonly string[] _gateways;
    private readonly long[] _downUntil;
    private readonly ConcurrentDictionary<Type, ClientInterface> _interfaces = new();
    private int _current;

    public ClusterClient(ClusterClientOptions options, WireSerializer wire, ILogger<ClusterClient>? logger = null)
    {
        if (options.Gateways.Count == 0) throw new ArgumentException("At least one gateway address is needed.", nameof(options));
        foreach (var gateway in options.Gateways) RemoteGrainCalls.ParseEndPoint(gateway);
        _options = options;
        Wire = wire;
        _gateways = options.Gateways.ToArray();
        _downUntil = new long[_gateways.Length];
        _connections = new PeerConnections(new PeerIdentity(options.ClientName, 0, IsClient: true),
            (ILogger?)logger ?? NullLogger.Instance);
    }

    public WireSerializer Wire { get; }

    /// <summary>The gateway the next call goes to.</summary>
    public string CurrentGateway => _gateways[Volatile.Read(ref _current)];

    public TGrainInterface GetGrain<TGrainInterface>(string primaryKey) where TGrainInterface : IGrainWithStringKey =>
        ClientGrainProxy.Create<TGrainInterface>(this, Interface(typeof(TGrainInterface)), primaryKey ?? throw new ArgumentNullException(nameof(primaryKey)), null);

    public TGrainInterface GetStatelessWorker<TGrainInterface>(string primaryKey, string silo) where TGrainInterface : IGrainWithStringKey =>
        ClientGrainProxy.Create<TGrainInterface>(this, Interface(typeof(TGrainInterface)), primaryKey ?? throw new ArgumentNullException(nameof(primaryKey)), silo);

    /// <summary>Proves a gateway answers (the handshake): fails when none of them does.</summary>
    public async Task ConnectAsync(CancellationToken cancellationToken = default)
    {
        var errors = new List<string>();
        for (var i = 0; i < _gateways.Length; i++)
        {
            var index = (Volatile.Read(ref _current) + i) % _gateways.Length;
            try
            {
                // A call to nothing: a serving gateway answers with an error, which proves it is there.
                var answer = await _connections.CallAsync(_gateways[index], new CallHeader("", "", "", 0, TimeSpan.FromSeconds(5)), Array.Empty<byte>(), cancellationToken);
                if (answer.Status is CallStatus.Unavailable or CallStatus.WrongSilo)
                {
                    errors.Add($"{_gateways[index]} is not serving");
                    continue;
                }
                Volatile.Write(ref _current, index);
                return;
            }
            catch (Exception e) when (e is PeerUnavailableException or TimeoutException)
            {
                errors.Add($"{_gateways[index]}: {e.Message}");
            }
        }
        throw new SiloUnavailableException($"No gateway answered: {string.Join("; ", errors)}");
    }

    private ClientInterface Interface(Type type) => _interfaces.GetOrAdd(type, static (t, timeout) => new ClientInterface(t, timeout), _options.ResponseTimeout);

    internal async Task<object?> InvokeAsync(ClientMethod method, string key, object?[] arguments, string? onSilo)
    {
        var payload = Wire.SerializeArguments(arguments, method.ParameterTypes);
        var started = Stopwatch.GetTimestamp();
        var failures = new List<string>();
        for (var attempt = 0; attempt < _gateways.Length * 2; attempt++)
        {
            var remaining = method.Timeout - Stopwatch.GetElapsedTime(started);
            if (remaining <= TimeSpan.Zero) break;
            var index = ChooseGateway();
            var gateway = _gateways[index];
            var header = new CallHeader(method.InterfaceName, key, method.Key, 0, remaining, onSilo);
            CallResponse response;
            try
            {
                response = await _connections.CallAsync(gateway, header, payload);
            }
            catch (PeerUnavailableException e) when (!e.WasSent)
            {
                MarkDown(index);
                failures.Add(e.Message);
                continue;
            }
            catch (PeerUnavailableException e)
            {
                MarkDown(index);
                throw new SiloUnavailableException(
                    $"Gateway {gateway} failed while {method.InterfaceName}.{method.Key} was in flight; the call may or may not have run.", e)
                { MayHaveRun = true };
            }
            catch (TimeoutException)
            {
                throw new TimeoutException($"Response did not arrive on time in {method.Timeout} for call to {method.InterfaceName}/{key}.{method.Name}.");
            }
            switch (response.Status)
            {
                case CallStatus.Ok:
                    return method.ResultType is null ? null : Wire.DeserializeResult(response.Payload.Span, method.ResultType);
                case CallStatus.Error:
                    throw Wire.DeserializeException(response.Payload.Span);
                default:
                    // The gateway is stopping or fenced and did not run the call: another gateway may.
                    MarkDown(index);
                    failures.Add($"{gateway} is not serving");
                    continue;
            }
        }
        throw new SiloUnavailableException(
            $"No gateway could take {method.InterfaceName}.{method.Key}; it was not run. " +
            (failures.Count > 0 ? string.Join("; ", failures.Distinct()) : "The deadline passed."));
    }

    private int ChooseGateway()
    {
        var now = Stopwatch.GetTimestamp();
        var start = Volatile.Read(ref _current);
        for (var i = 0; i < _gateways.Length; i++)
        {
            var index = (start + i) % _gateways.Length;
            if (Volatile.Read(ref _downUntil[index]) <= now)
            {
                if (index != start) Volatile.Write(ref _current, index);
                return index;
            }
        }
        // Every gateway failed recently: try the one that has been down longest.
        var oldest = 0;
        for (var i = 1; i < _gateways.Length; i++)
            if (_downUntil[i] < _downUntil[oldest]) oldest = i;
        return oldest;
    }

    private void MarkDown(int index)
    {
        Volatile.Write(ref _downUntil[index], Stopwatch.GetTimestamp() + (long)(_options.GatewayRetryDelay.TotalSeconds * Stopwatch.Frequency));
        Interlocked.CompareExchange(ref _current, (index + 1) % _gateways.Length, index);
    }

    public ValueTask DisposeAsync() => _connections.DisposeAsync();
}

/// <summary>A grain interface as the client sees it: its methods by MethodInfo, each knowing its wire name and types.</summary>
internal sealed class ClientInterface
{
    public ClientInterface(Type grainInterface, TimeSpan defaultTimeout)
    {
        if (!grainInterface.IsInterface || !typeof(IGrain).IsAssignableFrom(grainInterface))
            throw new ArgumentException($"{grainInterface} is not a grain interface.");
        var methods = grainInterface.GetMethods()
            .Concat(grainInterface.GetInterfaces().Where(i => typeof(IGrain).IsAssignableFrom(i)).SelectMany(i => i.GetMethods()));
        Name = grainInterface.Name;
        Methods = methods.Distinct().ToDictionary(m => m, m => ClientMethod.Create(grainInterface.FullName!, m,
            m.GetCustomAttribute<ResponseTimeoutAttribute>()?.Timeout ?? defaultTimeout));
    }

    public string Name { get; }

    public Dictionary<MethodInfo, ClientMethod> Methods { get; }
}

internal abstract class ClientMethod(string interfaceName, MethodInfo method, TimeSpan timeout)
{
    public string InterfaceName { get; } = interfaceName;
    public string Name { get; } = method.Name;
    public string Key { get; } = GrainMethodKey.Of(method);
    public Type[] ParameterTypes { get; } = method.GetParameters().Select(p => p.ParameterType).ToArray();
    public Type? ResultType { get; } = GrainMethodKey.ResultTypeOf(method);
    public TimeSpan Timeout { get; } = timeout;

    public abstract object Call(ClusterClient client, string key, object?[] arguments, string? onSilo);

    public static ClientMethod Create(string interfaceName, MethodInfo method, TimeSpan timeout)
    {
        var resultType = GrainMethodKey.ResultTypeOf(method);
        var isValueTask = method.ReturnType == typeof(ValueTask)
                          || (method.ReturnType.IsGenericType && method.ReturnType.GetGenericTypeDefinition() == typeof(ValueTask<>));
        var typed = typeof(ClientMethod<>).MakeGenericType(resultType ?? typeof(NoResult));
        return (ClientMethod)Activator.CreateInstance(typed, interfaceName, method, timeout, resultType is null, isValueTask)!;
    }
}

internal sealed class ClientMethod<TResult>(string interfaceName, MethodInfo method, TimeSpan timeout, bool returnsNothing, bool isValueTask)
    : ClientMethod(interfaceName, method, timeout)
{
    public override object Call(ClusterClient client, string key, object?[] arguments, string? onSilo)
    {
        var task = InvokeTypedAsync(client, key, arguments, onSilo);
        if (returnsNothing) return isValueTask ? new ValueTask(task) : task;
        return isValueTask ? new ValueTask<TResult>(task) : task;
    }

    private async Task<TResult> InvokeTypedAsync(ClusterClient client, string key, object?[] arguments, string? onSilo) =>
        (TResult)(await client.InvokeAsync(this, key, arguments, onSilo))!;
}

public class ClientGrainProxy : DispatchProxy
{
    private ClusterClient _client = null!;
    private ClientInterface _interface = null!;
    private string _key = null!;
    private string? _onSilo;

    internal static TInterface Create<TInterface>(ClusterClient client, ClientInterface grainInterface, string key, string? onSilo)
    {
        var proxy = Create<TInterface, ClientGrainProxy>();
        var self = (ClientGrainProxy)(object)proxy!;
        (self._client, self._interface, self._key, self._onSilo) = (client, grainInterface, key, onSilo);
        return proxy;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        if (!_interface.Methods.TryGetValue(targetMethod, out var method))
        {
            if (targetMethod.Name == nameof(ToString) && targetMethod.GetParameters().Length == 0) return ToString();
            throw new NotSupportedException($"{targetMethod.DeclaringType}.{targetMethod.Name} is not a grain method.");
        }
        return method.Call(_client, _key, args ?? [], _onSilo);
    }

    public override string ToString() => $"{_interface.Name}/{_key}";
}
