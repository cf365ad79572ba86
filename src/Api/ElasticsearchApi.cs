using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using TrainedModelsOrleans.Api.Endpoints;
using TrainedModelsOrleans.Api.Http;
using TrainedModelsOrleans.Api.Security;

namespace TrainedModelsOrleans.Api;

/// <summary>The Elasticsearch-compatible HTTP front end: a cluster client of the silos.</summary>
public static class ElasticsearchApi
{
    /// <summary>
    /// The services the API's pipeline needs: request decompression (Content-Encoding: gzip, deflate, br), and security
    /// configured from the Security section.
    /// </summary>
    public static IServiceCollection AddElasticsearchApi(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<SecurityOptions>(configuration.GetSection("Security"));
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<Authenticator>();
        return services.AddRequestDecompression();
    }

    /// <summary>
    /// Authentication and authorization first (ES refuses an unauthenticated request before reading it), then ES's
    /// checks and error bodies; then bodies sent compressed are inflated as endpoints read them.
    /// </summary>
    public static IApplicationBuilder UseElasticsearchApi(this IApplicationBuilder app)
    {
        if (app.ApplicationServices.GetRequiredService<IOptions<SecurityOptions>>().Value.Enabled) app.UseMiddleware<SecurityMiddleware>();
        return app.UseMiddleware<ElasticsearchMiddleware>().UseRequestDecompression();
    }

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
        api.MapSecurityEndpoints();
        RouteContracts.Apply(api);
        return app;
    }
}
