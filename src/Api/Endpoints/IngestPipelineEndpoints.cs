using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using TrainedModelsOrleans.Api.Http;
using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Ingest;
using Orleans;

namespace TrainedModelsOrleans.Api.Endpoints;

/// <summary>
/// _ingest/pipeline: stored (inference processors' model references recorded) and run through <c>_simulate</c>,
/// the only way documents go through a pipeline here (the service stores no indices).
/// </summary>
public static class IngestPipelineEndpoints
{
    public static IEndpointRouteBuilder MapIngestPipelineEndpoints(this IEndpointRouteBuilder app)
    {
        var pipelines = app.MapGroup("/_ingest/pipeline");

        pipelines.MapPut("/{id}", async (string id, HttpRequest request, IGrainFactory grains) =>
        {
            await grains.GetGrain<IIngestPipelineGrain>(id).Put(await RequestBody.ReadBytesAsync(request, required: true));
            return ElasticsearchJson.Acknowledged();
        });

        pipelines.MapGet("/{id}", async (string id, IGrainFactory grains) =>
        {
            var body = await grains.GetGrain<IIngestPipelineGrain>(id).Get();
            // ES answers a missing pipeline with 404 and an empty object.
            return body is null ? new EmptyNotFound() : ElasticsearchJson.Ok(body);
        });

        pipelines.MapGet("/", async (IGrainFactory grains) =>
            ElasticsearchJson.Ok(await grains.GetGrain<IIngestPipelineGrain>("*").Get() ?? new JsonObject()));

        // GET and POST, as ES's REST spec lists them; a literal _simulate wins over the {id} routes.
        pipelines.MapMethods("/_simulate", [HttpMethods.Get, HttpMethods.Post],
            (HttpRequest request, IGrainFactory grains) => SimulateAsync(null, request, grains));
        pipelines.MapMethods("/{id}/_simulate", [HttpMethods.Get, HttpMethods.Post],
            (string id, HttpRequest request, IGrainFactory grains) => SimulateAsync(id, request, grains));

        pipelines.MapDelete("/{id}", async (string id, IGrainFactory grains) =>
        {
            await grains.GetGrain<IIngestPipelineGrain>(id).Delete();
            return ElasticsearchJson.Acknowledged();
        });
        return app;
    }

    /// <summary>Query parameters: <c>verbose</c> (default false).</summary>
    private static async Task<IResult> SimulateAsync(string? id, HttpRequest request, IGrainFactory grains)
    {
        var body = await RequestBody.ReadBytesAsync(request, required: false);
        var verbose = QueryParameters.Bool(request, "verbose", false);
        CompiledPipeline pipeline;
        SimulateRequest simulate;
        if (id is null)
        {
            simulate = SimulateRequest.Parse(body, storedPipeline: false, DateTimeOffset.UtcNow);
            pipeline = PipelineCompiler.Compile(SimulateRequest.SimulatedPipelineId, simulate.Pipeline!);
        }
        else
        {
            SimulateRequest.RequireBody(body);
            var stored = await grains.GetGrain<IIngestPipelineGrain>(id).Get();
            var definition = stored?[id] as JsonObject
                ?? throw ElasticsearchException.IllegalArgument($"pipeline [{id}] does not exist");
            pipeline = PipelineCompiler.Compile(id, definition);
            simulate = SimulateRequest.Parse(body, storedPipeline: true, DateTimeOffset.UtcNow);
        }
        var answer = await PipelineSimulation.RunAsync(pipeline, simulate.Documents, verbose, new PipelineInference(grains),
            request.HttpContext.RequestAborted);
        return ElasticsearchJson.Ok(answer);
    }

    private sealed class EmptyNotFound : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = StatusCodes.Status404NotFound;
            return ElasticsearchJson.WriteAsync(httpContext, new JsonObject());
        }
    }
}
