using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using TrainedModelsOrleans.Api.Http;
using TrainedModelsOrleans.Grains.Deployments;
using Orleans;

namespace TrainedModelsOrleans.Api.Endpoints;

/// <summary>_ingest/pipeline: stored so that inference processors' model references are known.</summary>
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

        pipelines.MapDelete("/{id}", async (string id, IGrainFactory grains) =>
        {
            await grains.GetGrain<IIngestPipelineGrain>(id).Delete();
            return ElasticsearchJson.Acknowledged();
        });
        return app;
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
