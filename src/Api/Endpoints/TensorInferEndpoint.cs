using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Orleans;
using TrainedModelsOrleans.Api.Http;
using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Inference;
using TrainedModelsOrleans.Grains.Limits;
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
    public static RequestDelegate Handler(IGrainFactory grains, DirectInference? direct, ServiceLimits limits) =>
        context => InferAsync(context, grains, direct, limits);

    private static async Task InferAsync(HttpContext context, IGrainFactory grains, DirectInference? direct, ServiceLimits limits)
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
                && WithinLimits(docs, limits.Options)
                && TryTimeout(request, bodyTimeout, out var timeout))
            {
                pipe.AdvanceTo(body.End);
                consumed = true;
                var results = await direct.InferTensorsAsync(target, docs, timeout);
                WriteResults(context, results);
                return; // Kestrel sends headers and body in one write as the request ends
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

    /// <summary>A request over the docs or tensor-element limits goes the general way, which answers the limit's error.</summary>
    private static bool WithinLimits(InferenceTensor[][] docs, ServiceLimitsOptions limits)
    {
        if (docs.Length > limits.MaxInferDocs) return false;
        var elements = 0L;
        foreach (var doc in docs)
            foreach (var tensor in doc)
                elements += tensor.Data.Length;
        return elements <= limits.MaxTensorElements;
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

    /// <summary>
    /// One writer and one buffer per thread, reused for each answer (a new writer per request was 3% of the path's
    /// garbage). The answer is made whole before it is sent so that it goes with a Content-Length: a chunked answer
    /// cost a second write to the socket (the closing chunk) on every request.
    /// </summary>
    [ThreadStatic] private static Utf8JsonWriter? t_writer;

    [ThreadStatic] private static ArrayBufferWriter<byte>? t_answer;

    /// <summary>An answer buffer that grew past this (a large output) is not kept by the thread.</summary>
    private const int KeptAnswerBytes = 1024 * 1024;

    private static void WriteResults(HttpContext context, InferenceTensor[][] results)
    {
        var answer = t_answer ??= new ArrayBufferWriter<byte>(4096);
        var writer = t_writer ??= new Utf8JsonWriter(answer);
        writer.Reset(answer);
        try
        {
            TensorInferJson.Write(writer, results);
            writer.Flush();
            var response = context.Response;
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = ElasticsearchJson.ContentTypeFor(context.Request);
            response.ContentLength = answer.WrittenCount;
            response.BodyWriter.Write(answer.WrittenSpan);
        }
        finally
        {
            answer.ResetWrittenCount();
            if (answer.Capacity > KeptAnswerBytes) (t_answer, t_writer) = (null, null);
        }
    }
}
