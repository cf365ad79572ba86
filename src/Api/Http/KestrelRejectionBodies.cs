using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace TrainedModelsOrleans.Api.Http;

/// <summary>
/// Gives Kestrel's own refusals Elasticsearch's error body (Kestrel offers no hook for them: aspnet/KestrelHttpServer#2947).
/// A connection middleware, inside TLS, puts <see cref="RejectionRewritingWriter"/> in front of the connection's output
/// and a <see cref="RequestsInApplication"/> among its features; <see cref="Enter"/>, the API's first middleware, marks the
/// time the application answers a request. What Kestrel writes outside that time is its refusal of a request it could
/// not parse, rewritten by <see cref="KestrelRejections"/>; what the application writes passes untouched.
/// </summary>
public static class KestrelRejectionBodies
{
    /// <summary>Adds the rewriting to an endpoint; call after UseHttps, so that it sees the plaintext.</summary>
    public static ListenOptions UseKestrelRejectionBodies(this ListenOptions listen)
    {
        // Built at the first connection: the server's limits are all configured by then.
        var rejections = new Lazy<KestrelRejections>(() => new KestrelRejections(listen.KestrelServerOptions.Limits));
        listen.Use(next => connection =>
        {
            // HTTP/2 refuses inside its own frames; only HTTP/1.x answers with a bare head.
            if (connection.Features.Get<ITlsApplicationProtocolFeature>()?.ApplicationProtocol.Span.SequenceEqual("h2"u8) == true)
                return next(connection);
            var requests = new RequestsInApplication();
            connection.Features.Set(requests);
            var transport = connection.Transport;
            connection.Transport = new DuplexPipe(transport.Input, new RejectionRewritingWriter(transport.Output, rejections.Value, requests));
            return next(connection);
        });
        return listen;
    }

    /// <summary>
    /// Marks the request as the application's until its response has been written and flushed (Kestrel runs OnCompleted
    /// callbacks after that, before it parses the connection's next request). A request's features fall back to its
    /// connection's.
    /// </summary>
    public static void Enter(HttpContext context)
    {
        if (context.Features.Get<RequestsInApplication>() is not { } requests) return;
        requests.Enter();
        context.Response.OnCompleted(static state =>
        {
            ((RequestsInApplication)state).Leave();
            return Task.CompletedTask;
        }, requests);
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;
        public PipeWriter Output { get; } = output;
    }
}

/// <summary>How many of a connection's requests the application is answering (more than one only over HTTP/2).</summary>
public sealed class RequestsInApplication
{
    private int _count;

    public bool Any => Volatile.Read(ref _count) > 0;

    public void Enter() => Interlocked.Increment(ref _count);

    public void Leave() => Interlocked.Decrement(ref _count);
}
