using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using TrainedModelsOrleans.Api.Endpoints;
using TrainedModelsOrleans.Api.Http;

namespace TrainedModelsOrleans.Api;

/// <summary>The Elasticsearch-compatible HTTP front end: a cluster client of the silos.</summary>
public static class ElasticsearchApi
{
    public static IApplicationBuilder UseElasticsearchApi(this IApplicationBuilder app) =>
        app.UseMiddleware<ElasticsearchMiddleware>();

    public static IEndpointRouteBuilder MapElasticsearchApi(this IEndpointRouteBuilder app, ApiIdentity identity)
    {
        app.MapRootEndpoints(identity);
        app.MapTrainedModelEndpoints();
        app.MapDeploymentEndpoints();
        app.MapIngestPipelineEndpoints();
        return app;
    }
}
