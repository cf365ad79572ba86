using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;
using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using Microsoft.Extensions.DependencyInjection;
using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Limits;

namespace TrainedModelsOrleans.Api.Http;

/// <summary>
/// Every response says it is Elasticsearch (clients check the header); every failure leaves as an
/// Elasticsearch error body; nothing a client sends can take the process down.
/// </summary>
public sealed partial class ElasticsearchMiddleware(RequestDelegate next, ILogger<ElasticsearchMiddleware> logger, InputOptions input)
{
    public async Task InvokeAsync(HttpContext context)
    {
        // Set now rather than from an OnStarting callback (a callback stack and its entry per request on the hot
        // path); the error paths below clear the response and set it again.
        context.Response.Headers[ProductHeader] = ProductName;

        // Read before the decompression middleware takes the header away.
        var contentEncoding = context.Request.Headers.ContentEncoding;
        try
        {
            CheckRequestHead(context, input);
            if (await RefusedAsync(context)) return;
            await next(context);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The client went away; nothing to answer.
        }
        catch (Exception error) when (!context.Response.HasStarted)
        {
            await WriteFailureAsync(context, error, contentEncoding, logger);
        }

        if (context.Response.StatusCode == StatusCodes.Status404NotFound && !context.Response.HasStarted
            && context.GetEndpoint() is null)
        {
            await ElasticsearchErrors.WriteAsync(context, 400, "illegal_argument_exception",
                $"no handler found for uri [{LoggedText.Of(context.Request.Path.Value + context.Request.QueryString.Value, 1024)}] and method [{LoggedText.Of(context.Request.Method, 64)}]");
        }
        else if (context.Response.StatusCode == StatusCodes.Status405MethodNotAllowed && !context.Response.HasStarted)
        {
            await ElasticsearchErrors.WriteAsync(context, 405, "illegal_argument_exception",
                $"Incorrect HTTP method for uri [{LoggedText.Of(context.Request.Path.Value, 1024)}] and method [{LoggedText.Of(context.Request.Method, 64)}]");
        }
    }

    /// <summary>
    /// Any failure as the Elasticsearch error it is: ES's own errors as themselves, Kestrel's and the decompressor's
    /// refusals, a lost or leaving node (503), a timeout (408), anything else a logged 500. The security middleware,
    /// which runs before this one, answers its failures through here too.
    /// </summary>
    public static async Task WriteFailureAsync(HttpContext context, Exception failure, StringValues contentEncoding, ILogger logger)
    {
        switch (failure)
        {
            case ElasticsearchException error:
                // ES sends its Warning headers (e.g. deprecations) with errors too.
                var warnings = context.Response.Headers.Warning;
                Clear(context.Response);
                if (warnings.Count > 0) context.Response.Headers.Warning = warnings;
                await ElasticsearchErrors.WriteAsync(context, error);
                return;
            case InvalidDataException error when contentEncoding.Count > 0:
                // The request decompression middleware could not inflate the body (ES's Netty decompressor fails the same request).
                Clear(context.Response);
                await ElasticsearchErrors.WriteAsync(context, 400, "decompression_exception",
                    $"the request body is not valid [{contentEncoding}] data: {error.Message}");
                return;
            case BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge }:
                // Kestrel refused the body past http.max_content_length. The rest of it may still be on its way: close, as ES does.
                Clear(context.Response);
                context.Response.Headers.Connection = "close";
                var limits = context.RequestServices.GetService<ServiceLimits>() ?? new ServiceLimits(new ServiceLimitsOptions());
                // A compressed body's Content-Length is not the length that went past the limit: say none.
                await ElasticsearchErrors.WriteAsync(context, limits.ContentTooLong(contentEncoding.Count > 0 ? null : context.Request.ContentLength));
                return;
            case BadHttpRequestException error:
                Clear(context.Response);
                await ElasticsearchErrors.WriteAsync(context, error.StatusCode, "parse_exception", error.Message);
                return;
            case SiloUnavailableException or OrleansMessageRejectionException or Orleans.Runtime.Messaging.ConnectionFailedException:
                // The node that held the work died or is leaving, or an API-only process reaches no gateway: ES answers a
                // lost node with node_not_connected_exception.
                // Orleans' messages carry inner stack traces; the reason keeps their first line.
                Clear(context.Response);
                await ElasticsearchErrors.WriteAsync(context, 503, "node_not_connected_exception", FirstLine(failure.Message));
                return;
            case OperationCanceledException:
                // Not the client: Orleans cancels a call it cannot address while its grain directory moves ranges after a
                // node joined or died. The node set is changing; ES answers that with node_not_connected_exception too.
                Clear(context.Response);
                await ElasticsearchErrors.WriteAsync(context, 503, "node_not_connected_exception",
                    $"a call inside the cluster was cancelled while its nodes changed ({FirstLine(failure.Message)}); retry");
                return;
            case TimeoutException:
                Clear(context.Response);
                await ElasticsearchErrors.WriteAsync(context, 408, "timeout_exception", failure.Message);
                return;
            default:
                // One bounded line with the request's text escaped (a message may echo an id of any length); the whole
                // exception goes to Debug for whoever turns it on.
                LogUnhandled(logger, LoggedText.Of(context.Request.Method, 16), LoggedText.Of(context.Request.Path.Value), failure.GetType().Name,
                    LoggedText.Of(failure.Message, 1024));
                LogUnhandledDetail(logger, failure);
                Clear(context.Response);
                await ElasticsearchErrors.WriteAsync(context, 500, "exception", LoggedText.Of(failure.Message, 1024));
                return;
        }
    }

    /// <summary>
    /// A request line or header block over ES's limits (Kestrel's own ceilings are higher, so these answers carry ES's
    /// body). ES refuses these in its HTTP layer, before authentication: the API's pipeline runs this first.
    /// </summary>
    public static ElasticsearchException? OversizedHead(HttpContext context, InputOptions input)
    {
        var request = context.Request;
        var target = context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()?.RawTarget ?? request.Path.Value ?? "";
        return RequestHeadRules.CheckInitialLine(RequestHeadRules.InitialLineLength(request.Method, target, request.Protocol), input)
            ?? RequestHeadRules.CheckHeaders(RequestHeadRules.HeaderSize(request.Headers), input);
    }

    /// <summary>Path values too long or with control characters, refused before they become a grain key or a row.</summary>
    private static void CheckRequestHead(HttpContext context, InputOptions input)
    {
        var request = context.Request;
        foreach (var (name, value) in request.RouteValues)
            if (value is string text && RequestHeadRules.CheckPathValue(name, text, input) is { } refused) throw refused;
    }

    /// <summary>
    /// What ES refuses before a handler runs, in its order: broken or mismatched media-type headers (400), a body of a type
    /// it cannot read (406), parameters the API does not read (400), a body sent to an API that takes none (400).
    /// The usual request (no Accept header, a JSON body or none, no query string) costs a few header reads and, with a
    /// body, one endpoint metadata lookup; the query string is looked at only when there is one.
    /// </summary>
    private static async ValueTask<bool> RefusedAsync(HttpContext context)
    {
        var request = context.Request;
        var contentType = request.ContentType;
        var accept = request.Headers.Accept;
        var hasBody = request.ContentLength > 0 || (request.ContentLength is null && request.Headers.ContainsKey(HeaderNames.TransferEncoding));
        // An Accept without compatible-with and a plain JSON Content-Type (what clients send on every request) pass unread.
        if ((AsksForVersion(accept) || contentType is not (null or JsonMediaType))
            && MediaTypeHeaders.Check(accept.Count > 0 ? accept.ToString() : null, contentType, hasBody) is { } headerError)
            throw headerError;
        if (hasBody && contentType is not JsonMediaType && MediaTypeHeaders.UnsupportedBodyType(contentType) is { } unsupported)
        {
            // RestController answers these with its short error body, not the usual error object.
            context.Response.StatusCode = StatusCodes.Status406NotAcceptable;
            await ElasticsearchJson.WriteAsync(context, new JsonObject { ["error"] = unsupported, ["status"] = 406 });
            return true;
        }

        if (!request.QueryString.HasValue && !hasBody) return false;
        if (context.GetEndpoint()?.Metadata.GetMetadata<RouteContract>() is not { } contract) return false;
        if (request.QueryString.HasValue)
        {
            // ES's handlers parse their parameters before the unknown ones are looked for.
            if (contract.Checked.Count > 0) RouteContracts.CheckValues(contract, request.Query);
            List<string>? unknown = null;
            foreach (var name in request.Query.Keys)
                if (!contract.Parameters.Contains(name) && !RouteContracts.Global.Contains(name)) (unknown ??= new()).Add(name);
            if (unknown is not null)
                throw ElasticsearchException.IllegalArgument(
                    RouteContracts.Unrecognized(request.Path.Value ?? "/", unknown, contract.Parameters.Concat(RouteContracts.Global)));
        }
        if (hasBody && contract.Body == BodyUse.None)
            throw ElasticsearchException.IllegalArgument($"request [{request.Method} {request.Path.Value}] does not support having a body");
        if (!hasBody && contract.Body != BodyUse.None && request.QueryString.HasValue && request.Query.TryGetValue("source", out var source))
            UseSourceParameter(request, source.ToString());
        return false;
    }

    private static bool AsksForVersion(Microsoft.Extensions.Primitives.StringValues accept)
    {
        foreach (var value in accept)
            if (value is not null && value.Contains("compatible-with", StringComparison.OrdinalIgnoreCase)) return true;
        return false;
    }

    /// <summary>RestRequest.contentOrSourceParam: with no body, the source parameter is the body, in the source_content_type given.</summary>
    private static void UseSourceParameter(HttpRequest request, string source)
    {
        var type = request.Query["source_content_type"].ToString();
        if (type.Length == 0) throw new ElasticsearchException(500, "illegal_state_exception", "source and source_content_type parameters are required");
        if (MediaTypeHeaders.UnsupportedBodyType(type) is not null)
            throw new ElasticsearchException(500, "illegal_state_exception", $"Unknown value for source_content_type [{type}]");
        var bytes = System.Text.Encoding.UTF8.GetBytes(source);
        request.Body = new MemoryStream(bytes, writable: false);
        request.ContentLength = bytes.Length;
        request.ContentType = type;
    }

    private const string JsonMediaType = "application/json";

    internal const string ProductHeader = "X-Elastic-Product";
    internal static readonly Microsoft.Extensions.Primitives.StringValues ProductName = "Elasticsearch";

    /// <summary>An error replaces whatever the endpoint had set, but the answer still says it is Elasticsearch.</summary>
    private static void Clear(HttpResponse response)
    {
        response.Clear();
        response.Headers[ProductHeader] = ProductName;
    }

    private static string FirstLine(string text) => text.IndexOf('\n') is var end and >= 0 ? text[..end].TrimEnd() : text;

    [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled error for {Method} {Path}: {ErrorType}: {Reason}")]
    private static partial void LogUnhandled(ILogger logger, string method, string path, string errorType, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "The unhandled error's details")]
    private static partial void LogUnhandledDetail(ILogger logger, Exception error);
}
