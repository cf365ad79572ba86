using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using TrainedModelsOrleans.Api.Http;
using TrainedModelsOrleans.Grains.Serving;

namespace TrainedModelsOrleans.Api.Endpoints;

/// <summary>
/// GET _prometheus/metrics: Orleans' meter and ours (<see cref="ServingMetrics.MeterName"/>) in Prometheus' text format,
/// through OpenTelemetry's SDK and its Prometheus exporter.
/// </summary>
public static class PrometheusEndpoints
{
    public const string Path = "/_prometheus/metrics";
    public const string OrleansMeterName = "Microsoft.Orleans";

    /// <summary>
    /// Collects the two meters for the scrape; on an API-only process only Orleans' client instruments exist. The scrape's
    /// <c>target_info</c> names the service and this node.
    /// </summary>
    public static IServiceCollection AddPrometheusMetrics(this IServiceCollection services, string nodeName)
    {
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("trained-models-orleans", serviceInstanceId: nodeName))
            .WithMetrics(metrics => metrics
            .AddMeter(OrleansMeterName, ServingMetrics.MeterName)
            .ConfigureHostMeters((provider, builder) =>
            {
                // A meter listener hears every meter of that name in the process; only this host's (made by its own
                // IMeterFactory) are this node's. Several hosts share a process in tests, and an API-only process
                // could sit beside a silo: without this, one scrape mixed their series and lost its own.
                var hostMeters = provider.GetRequiredService<IMeterFactory>();
                builder.AddView(instrument =>
                    instrument.Meter.Scope is { } scope && !ReferenceEquals(scope, hostMeters) ? MetricStreamConfiguration.Drop
                    // Our counters' copies on Orleans' meter are for the dashboard; here they would repeat ours under the same names.
                    : ServingMetrics.IsDashboardCopy(instrument) ? MetricStreamConfiguration.Drop
                    : null);
            })
            // A scrape reads a few counters; caching answers (300 ms by default) would only make two scrapes in a row disagree.
            .AddPrometheusExporter(o => o.ScrapeResponseCacheDurationMilliseconds = 0));
        return services;
    }

    /// <summary>The scrape endpoint, GET (and HEAD) only, with its RouteContracts line (no parameters, no body).</summary>
    public static IEndpointRouteBuilder MapPrometheusMetrics(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("");
        // The exporter maps its path for every method; other methods get ES's 405 like the rest of the API.
        group.MapPrometheusScrapingEndpoint(Path).WithMetadata(new HttpMethodMetadata([HttpMethods.Get, HttpMethods.Head]));
        RouteContracts.Apply(group);
        return app;
    }

    /// <summary>Configures the builder once the host's services exist (the hosting builder defers its configuration).</summary>
    private static MeterProviderBuilder ConfigureHostMeters(this MeterProviderBuilder builder, Action<IServiceProvider, MeterProviderBuilder> configure) =>
        builder is IDeferredMeterProviderBuilder deferred
            ? deferred.Configure(configure)
            : throw new InvalidOperationException("the OpenTelemetry hosting builder no longer defers its configuration");
}
