using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using TrainedModelsOrleans.Grains.Limits;
using TrainedModelsOrleans.Api.Endpoints;
using TrainedModelsOrleans.Api.Http;

namespace TrainedModelsOrleans.Api;

/// <summary>The Elasticsearch-compatible HTTP front end: a cluster client of the silos.</summary>
public static class ElasticsearchApi
{
    /// <summary>The services the API's pipeline needs: request decompression (Content-Encoding: gzip, deflate, br), the limits, the upload slots.</summary>
    public static IServiceCollection AddElasticsearchApi(this IServiceCollection services)
    {
        services.TryAddSingleton(sp => new ServiceLimits(sp.GetRequiredService<IOptions<ServiceLimitsOptions>>().Value));
        services.TryAddSingleton<DefinitionUploads>();
        return services.AddRequestDecompression();
    }

    /// <summary>ES's checks and error bodies first; then bodies sent compressed are inflated as endpoints read them.</summary>
    public static IApplicationBuilder UseElasticsearchApi(this IApplicationBuilder app) =>
        app.UseMiddleware<ElasticsearchMiddleware>().UseRequestDecompression();

    public static IEndpointRouteBuilder MapElasticsearchApi(this IEndpointRouteBuilder app, ApiIdentity identity)
    {
        // One group for the whole API, so that every endpoint gets its line of RouteContracts.
        var api = app.MapGroup("");
        api.MapRootEndpoints(identity);
        api.MapTrainedModelEndpoints();
        api.MapDeploymentEndpoints();
        api.MapIngestPipelineEndpoints();
        api.MapMlInfoEndpoints();
        api.MapCatEndpoints();
        api.MapMlUiEndpoints();
        RouteContracts.Apply(api);
        return app;
    }
}
