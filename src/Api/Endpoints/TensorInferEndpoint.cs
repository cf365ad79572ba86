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
    public static async Task<IResult> InferAsync(string modelId, HttpRequest request, IGrainFactory grains, DirectInference? direct)
    {
        var pipe = request.BodyReader;
        var read = await ReadToEndAsync(pipe, request.HttpContext.RequestAborted);
        var body = read.Buffer;
        var consumed = false;
        try
        {
            if (direct is not null && OnlyTimeoutInQuery(request.Query) && await direct.ResolveAsync(modelId) is { } target
                && TensorInferJson.TryRead(body, target.Signature, out var docs, out var bodyTimeout)
                && TryTimeout(request.Query, bodyTimeout, out var timeout))
            {
                pipe.AdvanceTo(body.End);
                consumed = true;
                return new TensorResults(await direct.InferTensorsAsync(target, docs, timeout));
            }
            var bytes = body.ToArray();
            pipe.AdvanceTo(body.End);
            consumed = true;
            return await TrainedModelEndpoints.InferAsync(
                InferRequest.Parse(bytes, QueryParameters.All(request), deploymentPath: false).ToRequest(modelId), grains);
        }
        finally
        {
            if (!consumed) pipe.AdvanceTo(body.End);
        }
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

    private static bool OnlyTimeoutInQuery(IQueryCollection query) => query.Count == 0 || (query.Count == 1 && query.ContainsKey("timeout"));

    /// <summary>The query's timeout wins over the body's, as in the general parser; one it cannot read goes there for its error.</summary>
    private static bool TryTimeout(IQueryCollection query, string? bodyTimeout, out TimeSpan timeout)
    {
        timeout = default;
        var text = query.TryGetValue("timeout", out var fromQuery) && !string.IsNullOrEmpty(fromQuery) ? fromQuery.ToString() : bodyTimeout;
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

    private sealed class TensorResults(InferenceTensor[][] results) : IResult
    {
        public Task ExecuteAsync(HttpContext context)
        {
            var response = context.Response;
            response.StatusCode = StatusCodes.Status200OK;
            response.ContentType = ElasticsearchJson.ContentTypeFor(context.Request);
            using (var writer = new Utf8JsonWriter(response.BodyWriter)) TensorInferJson.Write(writer, results);
            return response.BodyWriter.FlushAsync(context.RequestAborted).AsTask();
        }
    }
}
