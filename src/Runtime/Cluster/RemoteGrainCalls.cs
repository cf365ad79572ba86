using System.Net;
using Microsoft.Extensions.Logging;
using TrainedModelsOrleans.Runtime.Catalog;
using TrainedModelsOrleans.Runtime.Hosting;
using TrainedModelsOrleans.Runtime.MembershipService;
using TrainedModelsOrleans.Runtime.Messaging;
using TrainedModelsOrleans.Runtime.Proxies;
using TrainedModelsOrleans.Runtime.Serialization;

namespace TrainedModelsOrleans.Runtime.Cluster;

/// <summary>
/// The silo's side of the transport: sends calls whose target lives on another silo, and runs calls that
/// arrive from peers and clients (a client's call is routed like a local one, so any silo is a gateway).
/// A call the peer provably did not run (connection refused, wrong generation, peer stopping) is sent
/// again to wherever the grain lives now; a call lost in flight fails with a clear error instead.
/// </summary>
internal sealed class RemoteGrainCalls : IInboundCallHandler, IAsyncDisposable
{
    private readonly Silo _silo;
    private readonly WireSerializer _wire;
    private readonly MessageListener _listener;
    private readonly PeerConnections _peers;
    private int _disposed;

    private RemoteGrainCalls(Silo silo, SiloIdentity identity, IPEndPoint endPoint, ILogger logger)
    {
        _silo = silo;
        _wire = silo.Wire;
        var local = new PeerIdentity(identity.Name, identity.Generation, IsClient: false);
        _peers = new PeerConnections(local, logger);
        _listener = MessageListener.Start(endPoint, local, this, logger);
        var bound = _listener.LocalEndPoint;
        var host = endPoint.Address.Equals(IPAddress.Any) ? IPAddress.Loopback : endPoint.Address;
        Address = $"{host}:{bound.Port}";
    }

    public string Address { get; }

    private const string StaleGeneration = "it is now another generation";

    public static RemoteGrainCalls Start(Silo silo, SiloIdentity identity, string address, ILogger logger) =>
        new(silo, identity, ParseEndPoint(address), logger);

    /// <summary>"host:port", the host an IP address or a name (resolved once, IPv4 preferred).</summary>
    public static IPEndPoint ParseEndPoint(string address)
    {
        var colon = address.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(address.AsSpan(colon + 1), out var port) || port is < 0 or > 65535)
            throw new ArgumentException($"'{address}' is not a host:port address.", nameof(address));
        var host = address[..colon];
        if (IPAddress.TryParse(host, out var ip)) return new IPEndPoint(ip, port);
        var addresses = Dns.GetHostAddresses(host);
        var chosen = addresses.FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork) ?? addresses.FirstOrDefault()
                     ?? throw new ArgumentException($"'{host}' does not resolve to an address.", nameof(address));
        return new IPEndPoint(chosen, port);
    }

    public void Forget(string address) => _peers.Forget(address);

    /// <summary>Sends the call to the silo that hosts the grain (or that the call is pinned to).</summary>
    public void Send(SiloEntry owner, GrainId target, GrainClassInfo grainClass, GrainRequest request) =>
        _ = SendAsync(owner, target, grainClass, request);

    /// <summary>The directory named a silo this silo's view does not know yet: read the membership, then send.</summary>
    public void SendAfterRefresh(string silo, long generation, GrainId target, GrainClassInfo grainClass, GrainRequest request) =>
        _ = SendAfterRefreshAsync(silo, generation, target, grainClass, request);

    private async Task SendAfterRefreshAsync(string silo, long generation, GrainId target, GrainClassInfo grainClass, GrainRequest request)
    {
        try
        {
            using var bound = new CancellationTokenSource(request.Remaining);
            await _silo.RefreshViewAsync(bound.Token);
        }
        catch (Exception e)
        {
            request.TryFail(new SiloUnavailableException($"The membership could not be read to reach {target} on silo {silo}; the call was not run.", e));
            return;
        }
        if (_silo.Current.IsAlive(silo, generation) && _silo.Current.TryGetAlive(silo, out var owner))
        {
            await SendAsync(owner, target, grainClass, request);
            return;
        }
        _silo.ForgetLocation(target, silo, generation);
        _silo.Redispatch(target, grainClass, request);
    }

    private async Task SendAsync(SiloEntry owner, GrainId target, GrainClassInfo grainClass, GrainRequest request)
    {
        byte[] arguments;
        try
        {
            arguments = _wire.SerializeArguments(request.Arguments, request.Method.ParameterTypes);
        }
        catch (Exception e)
        {
            request.TryFail(new ArgumentException($"The arguments of {target}.{request.Method.Name} cannot be sent to silo {owner.SiloId}: {e.Message}", e));
            return;
        }
        var header = new CallHeader(grainClass.TypeName, target.Key, request.Method.Key, owner.Generation, request.Remaining, request.OnSilo);
        CallResponse response;
        try
        {
            response = await _peers.CallAsync(owner.Address, header, arguments);
        }
        catch (PeerUnavailableException e) when (!e.WasSent)
        {
            await RetryAsync(owner, target, grainClass, request, e.Message);
            return;
        }
        catch (PeerUnavailableException e)
        {
            _silo.ForgetLocation(target, owner.SiloId, owner.Generation);
            request.TryFail(new SiloUnavailableException(
                $"Silo {owner.SiloId} (generation {owner.Generation}) failed while {target}.{request.Method.Name} was in flight; the call may or may not have run.", e)
            { MayHaveRun = true });
            return;
        }
        catch (TimeoutException)
        {
            request.TryFail(request.TimeoutError(target));
            return;
        }
        catch (Exception e)
        {
            request.TryFail(e);
            return;
        }
        switch (response.Status)
        {
            case CallStatus.Ok:
                object? result;
                try { result = ReadResult(request.Method, response.Payload.Span); }
                catch (Exception e) { request.TryFail(new InvalidOperationException($"The result of {target}.{request.Method.Name} could not be read: {e.Message}", e)); return; }
                request.TryComplete(result);
                return;
            case CallStatus.Error:
                request.TryFail(ReadException(response.Payload.Span));
                return;
            default:
                await RetryAsync(owner, target, grainClass, request,
                    response.Status == CallStatus.WrongSilo ? StaleGeneration : "it is stopping");
                return;
        }
    }

    /// <summary>The call never ran: back off a little (the owner may be about to be declared dead) and route it again.</summary>
    private async Task RetryAsync(SiloEntry owner, GrainId target, GrainClassInfo grainClass, GrainRequest request, string reason)
    {
        _silo.ForgetLocation(target, owner.SiloId, owner.Generation);
        var pinned = request.OnSilo is not null || grainClass.PlacedOnSiloNamedByKey;
        if (pinned && reason != StaleGeneration)
        {
            // Only that silo may run it, and it cannot be reached: the caller hears it at once (and may route elsewhere).
            request.TryFail(new SiloUnavailableException(
                $"Silo {owner.SiloId} (generation {owner.Generation}) at {owner.Address} cannot be reached ({reason}); {target}.{request.Method.Name} was not run."));
            return;
        }
        if (request.Forwards >= Silo.MaxForwards)
        {
            request.TryFail(new SiloUnavailableException(
                $"Silo {owner.SiloId} (generation {owner.Generation}) at {owner.Address} cannot be reached ({reason}); {target}.{request.Method.Name} was not run. " +
                "Its grains move once the silo is declared dead."));
            return;
        }
        var delay = TimeSpan.FromMilliseconds(50 << Math.Min(request.Forwards, 4));
        if (request.Remaining <= delay)
        {
            request.TryFail(request.TimeoutError(target));
            return;
        }
        await Task.Delay(delay);
        try
        {
            using var bound = new CancellationTokenSource(request.Remaining);
            await _silo.RefreshViewAsync(bound.Token);
        }
        catch (Exception e) when (e is OperationCanceledException or Npgsql.NpgsqlException)
        {
            // The database is slow or away: route with the last view.
        }
        _silo.Redispatch(target, grainClass, request);
    }

    public void Handle(InboundCall call)
    {
        // Big arguments are decoded off the connection's read loop, so one large call does not stall the others on it.
        if (call.Arguments.Length > LargeArguments)
            ThreadPool.UnsafeQueueUserWorkItem(static state => state.self.HandleCore(state.call), (self: this, call), preferLocal: false);
        else
            HandleCore(call);
    }

    private const int LargeArguments = 64 * 1024;

    private void HandleCore(InboundCall call)
    {
        // The listener has already answered WrongSilo for calls addressed to another generation of this silo.
        var header = call.Header;
        if (!_silo.IsServing)
        {
            call.Reply(CallStatus.Unavailable, default);
            return;
        }
        if (!_silo.Manifest.TryResolve(header.Interface, out var grainClass)
            || !grainClass.MethodsByKey.TryGetValue(header.Method, out var method))
        {
            ReplyError(call, new NotSupportedException($"This silo has no grain method {header.Interface}.{header.Method}."));
            return;
        }
        GrainRequest request;
        try
        {
            var arguments = _wire.DeserializeArguments(call.Arguments.Span, method.ParameterTypes);
            request = method.CreateRequest(arguments, header.Timeout, header.OnSilo);
        }
        catch (Exception e)
        {
            ReplyError(call, new ArgumentException($"The arguments of {header.Interface}.{header.Method} could not be read: {e.Message}", e));
            return;
        }
        var cancellation = call.Cancelled.CanBeCanceled
            ? call.Cancelled.Register(static state => ((GrainRequest)state!).TryFail(new OperationCanceledException("The caller cancelled the call.")), request)
            : default;
        request.Completion.ContinueWith(static (task, state) =>
        {
            var (self, call, request, cancellation) = ((RemoteGrainCalls, InboundCall, GrainRequest, CancellationTokenRegistration))state!;
            cancellation.Dispose();
            if (task.IsCompletedSuccessfully)
            {
                byte[] payload;
                try { payload = self.WriteResult(request.Method, request.Result); }
                catch (Exception e)
                {
                    self.ReplyError(call, new InvalidOperationException($"The result of {request.Method.Name} could not be sent: {e.Message}", e));
                    return;
                }
                call.Reply(CallStatus.Ok, payload);
            }
            else
            {
                var error = task.Exception?.InnerExceptions.Count == 1 ? task.Exception.InnerException! : (Exception?)task.Exception
                    ?? new OperationCanceledException();
                // Stopping here before the call ran (e.g. it was queued on a grain that deactivated): the caller sends it elsewhere.
                if (error is SiloUnavailableException { MayHaveRun: false } && !self._silo.IsServing) call.Reply(CallStatus.Unavailable, default);
                else self.ReplyError(call, error);
            }
        }, (this, call, request, cancellation), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        _silo.Send(new GrainId(grainClass.TypeName, header.Key), grainClass, request);
    }

    private void ReplyError(InboundCall call, Exception error)
    {
        byte[] payload;
        try { payload = _wire.SerializeException(error); }
        catch (Exception e) { payload = _wire.SerializeException(new InvalidOperationException($"{error.GetType().Name}: {error.Message} ({e.Message})")); }
        call.Reply(CallStatus.Error, payload);
    }

    private byte[] WriteResult(GrainMethod method, object? result) =>
        method.ResultType == typeof(VoidResult) ? [] : _wire.SerializeResult(result, method.ResultType);

    private object? ReadResult(GrainMethod method, ReadOnlySpan<byte> payload) =>
        method.ResultType == typeof(VoidResult) ? default(VoidResult) : _wire.DeserializeResult(payload, method.ResultType);

    private Exception ReadException(ReadOnlySpan<byte> payload)
    {
        try { return _wire.DeserializeException(payload); }
        catch (Exception e) { return new InvalidOperationException($"A remote error could not be read: {e.Message}", e); }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        await _listener.DisposeAsync();
        await _peers.DisposeAsync();
    }
}
