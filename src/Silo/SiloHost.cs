using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Npgsql;
using TrainedModelsOrleans.Api;
using TrainedModelsOrleans.Api.Endpoints;
using TrainedModelsOrleans.Grains;
using TrainedModelsOrleans.Grains.Cluster;
using TrainedModelsOrleans.Grains.Wire;
using TrainedModelsOrleans.Runtime;
using TrainedModelsOrleans.Runtime.Client;
using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.Serving;
using TrainedModelsOrleans.Runtime.Hosting;
using TrainedModelsOrleans.Runtime.Storage;

namespace TrainedModelsOrleans.Silo;

/// <summary>
/// Builds and runs one node: the embedded PostgreSQL when no connection string is configured, the
/// silo, and the HTTP API. Program.cs and the tests start nodes the same way.
/// </summary>
public sealed class SiloHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly NpgsqlDataSource? _dataSource;
    private readonly EmbeddedPostgres? _embedded;
    private int _disposed;

    private SiloHost(WebApplication app, NpgsqlDataSource? dataSource, EmbeddedPostgres? embedded, NodeSettings settings)
    {
        _app = app;
        _dataSource = dataSource;
        _embedded = embedded;
        Settings = settings;
    }

    public NodeSettings Settings { get; }
    public IServiceProvider Services => _app.Services;
    public string? EmbeddedConnectionString => _embedded?.ConnectionString;

    /// <summary>The first address the HTTP API listens on (resolves port 0).</summary>
    public Uri BaseAddress => new(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!
        .Addresses.First());

    public static async Task<SiloHost> StartAsync(string[] args, CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateBuilder(args);
        var settings = NodeSettings.From(builder.Configuration);
        if (string.IsNullOrEmpty(builder.Configuration["Urls"])) builder.WebHost.UseUrls(NodeSettings.DefaultUrls);
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fff ";
            o.UseUtcTimestamp = true;
        });

        using var startupLogging = LoggerFactory.Create(l =>
            l.AddConfiguration(builder.Configuration.GetSection("Logging")).AddSimpleConsole(o => o.SingleLine = true));
        using var startupTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        startupTimeout.CancelAfter(TimeSpan.FromMinutes(2));

        // Elasticsearch's http.max_content_length default: 100mb.
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = 100L * 1024 * 1024);
        if (settings.Gateways.Count > 0) return await StartClientOnlyAsync(builder, settings, startupTimeout.Token);

        EmbeddedPostgres? embedded = null;
        var connectionString = builder.Configuration.GetConnectionString("Postgres");
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            // Embedded default: a private PostgreSQL cluster in the data folder, started (or reused) here.
            embedded = await EmbeddedPostgres.StartAsync(
                new EmbeddedPostgresOptions { DataDirectory = Path.Combine(settings.DataDirectory, "postgres") },
                startupLogging.CreateLogger("TrainedModelsOrleans.EmbeddedPostgres"), startupTimeout.Token);
            connectionString = embedded.ConnectionString;
        }

        var dataSource = NpgsqlDataSource.Create(connectionString);
        try
        {
            builder.Services.AddSingleton(dataSource);
            builder.Services.AddSingleton(settings);
            builder.Services.AddSilo(settings.Configure);
            builder.Services.AddTrainedModelGrains(builder.Configuration.GetSection("Ml").Get<MlSettings>(),
                builder.Configuration.GetSection("Serving").Get<ServingOptions>());
            var identity = new ApiIdentity(settings.NodeName, settings.ClusterName,
                await ClusterUuid.ReadAsync(dataSource, startupTimeout.Token));

            var app = builder.Build();
            app.UseElasticsearchApi();
            app.MapElasticsearchApi(identity);
            await app.StartAsync(startupTimeout.Token);
            return new SiloHost(app, dataSource, embedded, settings);
        }
        catch
        {
            await dataSource.DisposeAsync();
            if (embedded is not null) await embedded.DisposeAsync();
            throw;
        }
    }

    /// <summary>The API alone, as a cluster client of the silos at Client:Gateways: no database, no grains here.</summary>
    private static async Task<SiloHost> StartClientOnlyAsync(WebApplicationBuilder builder, NodeSettings settings, CancellationToken cancellationToken)
    {
        builder.Services.AddSingleton(settings);
        builder.Services.AddSingleton(sp => TrainedModelsClient.Create(settings.Gateways, logger: sp.GetRequiredService<ILogger<ClusterClient>>()));
        builder.Services.AddSingleton<IClusterClient>(sp => sp.GetRequiredService<ClusterClient>());
        builder.Services.AddSingleton<IGrainFactory>(sp => sp.GetRequiredService<ClusterClient>());
        var app = builder.Build();
        try
        {
            var client = app.Services.GetRequiredService<ClusterClient>();
            var uuid = await client.GetGrain<IClusterInfoGrain>("cluster").GetClusterUuid().WaitAsync(cancellationToken);
            app.UseElasticsearchApi();
            app.MapElasticsearchApi(new ApiIdentity(settings.NodeName, settings.ClusterName, uuid));
            await app.StartAsync(cancellationToken);
            return new SiloHost(app, null, null, settings);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }
    }

    public Task WaitForShutdownAsync() => _app.WaitForShutdownAsync();

    /// <summary>The silo stopped because it fenced itself (declared dead, or cut off from the database).</summary>
    public bool Fenced => _app.Services.GetService<Runtime.Hosting.Silo>()?.IsFenced ?? false;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        try
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
        finally
        {
            if (_dataSource is not null) await _dataSource.DisposeAsync();
            if (_embedded is not null) await _embedded.DisposeAsync();
        }
    }
}
