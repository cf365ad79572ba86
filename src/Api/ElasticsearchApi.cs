using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using TrainedModelsOrleans.Grains.Limits;
using TrainedModelsOrleans.Api.Endpoints;
using TrainedModelsOrleans.Api.Http;
using TrainedModelsOrleans.Api.Security;

namespace TrainedModelsOrleans.Api;

/// <summary>The Elasticsearch-compatible HTTP front end: a cluster client of the silos.</summary>
public static class ElasticsearchApi
{
    /// <summary>
    /// The services the API's pipeline needs: request decompression (Content-Encoding: gzip, deflate, br), security
    /// configured from the Security section, the input limits (section Input), which also become the JSON limits every
    /// parser of request bodies checks, the service limits and the definition upload slots.
    /// </summary>
    public static IServiceCollection AddElasticsearchApi(this IServiceCollection services, IConfiguration configuration, InputOptions? input = null)
    {
        input ??= new InputOptions();
        if (input.Problems() is { Count: > 0 } problems) throw new InvalidOperationException(string.Join("; ", problems));
        // The body parsers are plain static rules deep in the grains (an SDK caller's body is checked the same way).
        Grains.Models.Parsing.JsonInputRules.Limits = input.JsonLimits;
        services.Configure<SecurityOptions>(configuration.GetSection("Security"));
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<Authenticator>();
        services.TryAddSingleton(sp => new ServiceLimits(sp.GetRequiredService<IOptions<ServiceLimitsOptions>>().Value));
        services.TryAddSingleton<DefinitionUploads>();
        return services.AddSingleton(input).AddRequestDecompression();
    }

    /// <summary>
    /// Kestrel's side of the input limits: its own line and header ceilings above the API's (which answer with ES's body),
    /// and the timeouts that close idle, slow-header and slow-body connections.
    /// </summary>
    public static void ApplyTo(this InputOptions input, Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerLimits limits)
    {
        limits.MaxRequestLineSize = input.KestrelRequestLineCeiling;
        limits.MaxRequestHeadersTotalSize = input.KestrelHeadersCeiling;
        limits.KeepAliveTimeout = input.KeepAliveTimeout;
        limits.RequestHeadersTimeout = input.RequestHeadersTimeout;
        limits.MinRequestBodyDataRate = new Microsoft.AspNetCore.Server.Kestrel.Core.MinDataRate(input.MinRequestBodyBytesPerSecond, input.MinRequestBodyGracePeriod);
    }

    /// <summary>
    /// The request marked as the application's (Kestrel's own refusals, outside that, get ES's body: KestrelRejectionBodies);
    /// a request line or headers over ES's limits first (ES's HTTP layer refuses them), then authentication and
    /// authorization (ES refuses an unauthenticated request before reading it), then ES's checks and error bodies; then
    /// bodies sent compressed are inflated as endpoints read them.
    /// </summary>
    public static IApplicationBuilder UseElasticsearchApi(this IApplicationBuilder app)
    {
        var input = app.ApplicationServices.GetRequiredService<InputOptions>();
        app.Use(async (context, next) =>
        {
            KestrelRejectionBodies.Enter(context);
            if (ElasticsearchMiddleware.OversizedHead(context, input) is { } refused)
            {
                context.Response.Headers[ElasticsearchMiddleware.ProductHeader] = ElasticsearchMiddleware.ProductName;
                await ElasticsearchErrors.WriteAsync(context, refused);
                return;
            }
            await next(context);
        });
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
