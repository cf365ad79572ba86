using System.Reflection;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using TrainedModelsOrleans.Runtime.Cluster;
using TrainedModelsOrleans.Runtime.Configuration;
using TrainedModelsOrleans.Runtime.MembershipService;
using TrainedModelsOrleans.Runtime.Serialization;
using TrainedModelsOrleans.Runtime.Persistence;
using TrainedModelsOrleans.Runtime.Storage;
using TrainedModelsOrleans.Runtime.Transactions;

namespace TrainedModelsOrleans.Runtime.Hosting;

/// <summary>What a host says about the silo it runs.</summary>
public sealed class SiloConfiguration
{
    public GrainRuntimeOptions Runtime { get; } = new();
    public SiloOptions Silo { get; } = new();
    public List<Assembly> GrainAssemblies { get; } = new();

    /// <summary>How grain state is written as JSON; the default is System.Text.Json's general defaults.</summary>
    public JsonSerializerOptions? StateSerializerOptions { get; set; }

    /// <summary>How grain arguments and results travel between silos and clients (host converters go here).</summary>
    public JsonSerializerOptions? WireJsonOptions { get; set; }

    /// <summary>The host's exception codecs, most specific first; the runtime adds its own after them.</summary>
    public List<IExceptionCodec> ExceptionCodecs { get; } = new();

    /// <summary>The folder of NNNN_name.sql files applied at start-up; null = find the repository's db/.</summary>
    public string? SchemaDirectory { get; set; }
}

public static class SiloServiceCollectionExtensions
{
    /// <summary>
    /// Adds a silo (and its co-hosted IClusterClient / IGrainFactory) to the host. The host registers the
    /// NpgsqlDataSource. On start the schema is applied, then the silo joins the cluster.
    /// </summary>
    public static IServiceCollection AddSilo(this IServiceCollection services, Action<SiloConfiguration> configure)
    {
        var configuration = new SiloConfiguration();
        configure(configuration);
        services.AddSingleton(configuration);
        services.AddSingleton(sp => new GrainStorage(sp.GetRequiredService<NpgsqlDataSource>(), configuration.StateSerializerOptions));
        services.AddSingleton(sp => new GrainStateStore(sp.GetRequiredService<GrainStorage>()));
        services.AddSingleton(sp => new Silo(sp.GetRequiredService<NpgsqlDataSource>(), sp.GetRequiredService<GrainStorage>(), sp,
            configuration.Runtime, configuration.Silo, configuration.GrainAssemblies, sp.GetRequiredService<ILogger<Silo>>(),
            RuntimeExceptionCodecs.Serializer(configuration.WireJsonOptions, configuration.ExceptionCodecs)));
        services.AddSingleton<IClusterMembership>(sp => sp.GetRequiredService<Silo>());
        services.AddSingleton<IClusterClient>(sp => sp.GetRequiredService<Silo>());
        services.AddSingleton<IGrainFactory>(sp => sp.GetRequiredService<Silo>());
        services.AddHostedService<SiloHostedService>();
        return services;
    }
}

/// <summary>Starts the silo with the host and stops it gracefully with the host.</summary>
/// <summary>Also stops the host when the silo fences itself: a process that may not serve should not linger.</summary>
internal sealed class SiloHostedService(Silo silo, NpgsqlDataSource dataSource, SiloConfiguration configuration, ILogger<Silo> logger,
    IHostApplicationLifetime lifetime) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var schema = configuration.SchemaDirectory ?? SchemaMigrator.FindSchemaDirectory();
        await SchemaMigrator.ApplyAsync(dataSource, schema, logger, cancellationToken);
        silo.Fenced += _ => lifetime.StopApplication();
        await silo.StartAsync(cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => silo.StopAsync(cancellationToken);
}
