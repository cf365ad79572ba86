using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Orleans;
using TrainedModelsOrleans.Api.Http;
using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Inference;
using TrainedModelsOrleans.Grains.Serving;

namespace TrainedModelsOrleans.Api.Endpoints;

/// <summary>
/// POST _ml/trained_models/&lt;id&gt;/_infer. A tensor request to a ready deployment takes the short way: the body
/// is read from the request pipe into typed arrays, the docs run where the router chooses (on this node's executor
/// without any grain call, else one call to the chosen node's worker), and the answer is written into the response
/// pipe. Every other request (text docs, tree models, errors of any kind) takes the general path through the
/// inference grain, which answers it as Elasticsearch does.
/// </summary>
public static class TensorInferEndpoint
{
    /// <summary>
    /// The route's handler as a plain request delegate: no parameter binding and no request services scope per request
    /// (minimal APIs' generated binding cost more than the rest of the routing); its singletons come from the caller.
    /// </summary>
    public static RequestDelegate Handler(IGrainFactory grains, DirectInference? direct) =>
        context => InferAsync(context, grains, direct);

    private static async Task InferAsync(HttpContext context, IGrainFactory grains, DirectInference? direct)
    {
        var request = context.Request;
        var modelId = (string)request.RouteValues["model_id"]!;
        var pipe = request.BodyReader;
        var read = await ReadToEndAsync(pipe, context.RequestAborted);
        var body = read.Buffer;
        var consumed = false;
        IResult general;
        try
        {
            if (direct is not null && OnlyTimeoutInQuery(request) && await direct.ResolveAsync(modelId) is { } target
                && TensorInferJson.TryRead(body, target.Signature, out var docs, out var bodyTimeout)
                && TryTimeout(request, bodyTimeout, out var timeout))
            {
                pipe.AdvanceTo(body.End);
                consumed = true;
                var results = await direct.InferTensorsAsync(target, docs, timeout);
                WriteResults(context, results);
                await context.Response.BodyWriter.FlushAsync(context.RequestAborted);
                return;
            }
            var bytes = body.ToArray();
            pipe.AdvanceTo(body.End);
            consumed = true;
            general = await TrainedModelEndpoints.InferAsync(
                InferRequest.Parse(bytes, QueryParameters.All(request), deploymentPath: false).ToRequest(modelId), grains);
        }
        finally
        {
            if (!consumed) pipe.AdvanceTo(body.End);
        }
        await general.ExecuteAsync(context);
    }

    /// <summary>The whole body, still in the pipe's buffers (Kestrel's MaxRequestBodySize bounds it).</summary>
    private static async ValueTask<ReadResult> ReadToEndAsync(PipeReader pipe, CancellationToken cancellationToken)
    {
        while (true)
        {
            var read = await pipe.ReadAsync(cancellationToken);
            if (read.IsCompleted || read.IsCanceled) return read;
            pipe.AdvanceTo(read.Buffer.Start, read.Buffer.End);
        }
    }

    // Without a query string the query feature is never built.
    private static bool OnlyTimeoutInQuery(HttpRequest request) =>
        !request.QueryString.HasValue || request.Query is var query && (query.Count == 0 || (query.Count == 1 && query.ContainsKey("timeout")));

    /// <summary>The query's timeout wins over the body's, as in the general parser; one it cannot read goes there for its error.</summary>
    private static bool TryTimeout(HttpRequest request, string? bodyTimeout, out TimeSpan timeout)
    {
        timeout = default;
        var text = request.QueryString.HasValue && request.Query.TryGetValue("timeout", out var fromQuery) && !string.IsNullOrEmpty(fromQuery)
            ? fromQuery.ToString()
            : bodyTimeout;
        if (text is null)
        {
            timeout = DefaultTimeout;
            return true;
        }
        try
        {
            timeout = TimeValue.Parse(text, "timeout").ToTimeSpan();
            return true;
        }
        catch (ElasticsearchException)
        {
            return false;
        }
    }

    private static readonly TimeSpan DefaultTimeout = InferRequest.DefaultTimeout.ToTimeSpan();

    /// <summary>One writer per thread, reset onto each response (a writer per request was a tenth of the path's garbage).</summary>
    [ThreadStatic] private static Utf8JsonWriter? t_writer;

    /// <summary>Where an idle writer points: never written to (resetting onto a stream would allocate a buffer each time).</summary>
    private static readonly ArrayBufferWriter<byte> Detached = new(1);

    private static void WriteResults(HttpContext context, InferenceTensor[][] results)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = ElasticsearchJson.ContentTypeFor(context.Request);
        var writer = t_writer ??= new Utf8JsonWriter(Detached);
        writer.Reset(response.BodyWriter);
        try
        {
            TensorInferJson.Write(writer, results);
            writer.Flush();
        }
        finally
        {
            // Not kept past the request: the pipe belongs to the connection.
            writer.Reset(Detached);
        }
    }
}
