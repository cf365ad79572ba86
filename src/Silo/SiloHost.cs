using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Logging.Console;
using Npgsql;
using Orleans.Configuration;
using Orleans.Dashboard;
using Orleans.Providers;
using Orleans.Serialization;
using Orleans.Storage;
using TrainedModelsOrleans.Grains.Persistence;
using TrainedModelsOrleans.Api;
using TrainedModelsOrleans.Api.Endpoints;
using TrainedModelsOrleans.Api.Http;
using TrainedModelsOrleans.Api.Security;
using Microsoft.Extensions.Options;
using TrainedModelsOrleans.Grains;
using TrainedModelsOrleans.Grains.Cluster;
using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.Limits;
using TrainedModelsOrleans.Grains.Serving;
using TrainedModelsOrleans.Grains.Wire;
using TrainedModelsOrleans.Silo.Storage;

namespace TrainedModelsOrleans.Silo;

/// <summary>
/// Builds and runs one node: the embedded PostgreSQL when no connection string is configured, the schema,
/// the Orleans silo (ADO.NET clustering and storage on that PostgreSQL), the HTTP API and the dashboard
/// in one web host. Program.cs and the tests start nodes the same way.
/// </summary>
public sealed class SiloHost : IAsyncDisposable
{
    /// <summary>Orleans' ADO.NET providers name their driver by its invariant; it defaults to SQL Server.</summary>
    private const string NpgsqlInvariant = "Npgsql";
    private const string PostgresStorage = "postgres";

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
        // The content root is the program's folder, so its appsettings.json (quiet logging, the defaults) applies
        // wherever the process is started from; DataDirectory stays relative to the working directory.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        var settings = NodeSettings.From(builder.Configuration);
        var tls = TlsSettings.From(builder.Configuration);
        // Urls is not in appsettings.json: its default (http or https, 127.0.0.1:9200) follows Tls:Http.
        builder.WebHost.UseUrls(tls.ListenUrls(builder.Configuration["Urls"]));
        // Every endpoint gets Kestrel's own refusals with ES's body, inside TLS: the address binder applies these defaults
        // before its own UseHttps, which it skips for an endpoint already using TLS.
        builder.WebHost.ConfigureKestrel(k => k.ConfigureEndpointDefaults(listen =>
        {
            if (tls.Http is { } serverCertificate) listen.UseHttps(serverCertificate);
            listen.UseKestrelRejectionBodies();
        }));
        ConsoleLines(builder.Logging);

        using var startupLogging = LoggerFactory.Create(l => ConsoleLines(l.AddConfiguration(builder.Configuration.GetSection("Logging"))));
        using var startupTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        startupTimeout.CancelAfter(TimeSpan.FromMinutes(2));

        builder.Services.AddServiceLimits(builder.Configuration.GetSection(ServiceLimitsOptions.Section));
        var limits = builder.Configuration.GetSection(ServiceLimitsOptions.Section).Get<ServiceLimitsOptions>() ?? new ServiceLimitsOptions();
        builder.WebHost.ConfigureKestrel(k =>
        {
            // Elasticsearch's http.max_content_length (default 100mb): Kestrel refuses a longer body as it arrives.
            k.Limits.MaxRequestBodySize = limits.MaxContentLength;
            // Elasticsearch sends no Server header; clients identify it by X-Elastic-Product.
            k.AddServerHeader = false;
        });
        var input = builder.Configuration.GetSection(Api.Http.InputOptions.Section).Get<Api.Http.InputOptions>() ?? new Api.Http.InputOptions();
        builder.WebHost.ConfigureKestrel(k => input.ApplyTo(k.Limits));
        builder.Services.AddElasticsearchApi(builder.Configuration, input);
        builder.Services.AddPrometheusMetrics(settings.NodeName);
        if (settings.Gateways.Count > 0) return await StartClientOnlyAsync(builder, settings, tls, startupTimeout.Token);

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
            // Orleans' providers read their SQL from OrleansQuery while the silo starts: the schema goes first.
            await SchemaMigrator.ApplyAsync(dataSource, Path.Combine(AppContext.BaseDirectory, "db"),
                startupLogging.CreateLogger("TrainedModelsOrleans.SchemaMigrator"), startupTimeout.Token);
            builder.Services.AddSingleton(dataSource);
            builder.Services.AddSingleton(settings);
            var configuration = builder.Configuration;
            builder.UseOrleans(silo =>
            {
                silo.Configure<ClusterOptions>(o => (o.ClusterId, o.ServiceId) = (settings.ClusterName, TrainedModelsClient.ServiceId));
                silo.Configure<SiloOptions>(o => o.SiloName = settings.NodeName);
                silo.ConfigureEndpoints(settings.AdvertisedAddress, settings.SiloPort, settings.GatewayPort);
                if (tls.Transport is { } transportTls) silo.UseTls(transportTls.Configure);
                silo.UseAdoNetClustering(o => (o.Invariant, o.ConnectionString) = (NpgsqlInvariant, connectionString));
                // Grain state on PostgreSQL through Orleans' ADO.NET storage, each row keyed by grain type and key (see TypeScopedGrainStorage).
                silo.AddAdoNetGrainStorage(PostgresStorage, o => (o.Invariant, o.ConnectionString) = (NpgsqlInvariant, connectionString));
                silo.Services.AddKeyedSingleton<IGrainStorage>(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME,
                    (sp, _) => new TypeScopedGrainStorage(sp.GetRequiredKeyedService<IGrainStorage>(PostgresStorage)));
                silo.Services.AddSingleton(sp => sp.GetRequiredKeyedService<IGrainStorage>(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME));
                silo.UseSystemTextJsonGrainStorageSerializer();
                silo.Services.AddSerializer(s => s.AddTrainedModelsSerializers());
                silo.Configure<ClusterMembershipOptions>(o =>
                {
                    FastFailureDetection(o);
                    configuration.GetSection("Cluster:Membership").Bind(o);
                });
                silo.Configure<SiloMessagingOptions>(o =>
                {
                    o.ResponseTimeout = configuration.GetValue<TimeSpan?>("Runtime:ResponseTimeout") ?? o.ResponseTimeout;
                    o.MaxMessageBodySize = MaxMessageBodySize;
                });
                silo.Configure<GrainCollectionOptions>(o =>
                {
                    o.CollectionAge = configuration.GetValue<TimeSpan?>("Runtime:CollectionAge") ?? o.CollectionAge;
                    o.CollectionQuantum = configuration.GetValue<TimeSpan?>("Runtime:CollectionQuantum") ?? IdKeyedActivations.DefaultCollectionQuantum;
                    IdKeyedActivations.Configure(o, configuration.GetValue<TimeSpan?>("Runtime:IdKeyedCollectionAge") ?? IdKeyedActivations.DefaultCollectionAge);
                });
                UseRecoveringGrainDirectory(silo, configuration);
                // The dashboard's live log stream (/dashboard/Trace) carries every log line — client text, the generated
                // elastic password at first start — to anyone with monitor: off, as ES's monitor reads no logs.
                silo.AddDashboard(o => o.HideTrace = true);
                silo.AddTrainedModelGrains(settings.LocalNode, configuration.GetSection("Ml").Get<MlSettings>(),
                    configuration.GetSection("Serving").Get<ServingOptions>());
            });
            var clusterUuid = await ClusterUuid.ReadAsync(dataSource, startupTimeout.Token);
            var identity = new ApiIdentity(settings.NodeName, settings.ClusterName, () => Task.FromResult(clusterUuid));

            var app = builder.Build();
            app.UseElasticsearchApi();
            app.MapElasticsearchApi(identity);
            // The dashboard has no authentication of its own: its every path needs the monitor privilege.
            app.MapOrleansDashboard("/dashboard").WithMetadata(new SecuredAction(RouteActions.Dashboard));
            app.MapPrometheusMetrics();
            var securityLog = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("TrainedModelsOrleans.Security");
            ElasticUserBootstrap.WarnIfDisabled(app.Services.GetRequiredService<IOptions<SecurityOptions>>().Value, securityLog);
            WarnIfTransportOpenInPlaintext(settings, tls, securityLog);
            await app.StartAsync(startupTimeout.Token);
            await ElasticUserBootstrap.RunAsync(app.Services.GetRequiredService<IGrainFactory>(),
                app.Services.GetRequiredService<IOptions<SecurityOptions>>().Value, app.Services.GetRequiredService<Authenticator>(),
                app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("TrainedModelsOrleans.Security"), startupTimeout.Token);
            return new SiloHost(app, dataSource, embedded, settings);
        }
        catch
        {
            await dataSource.DisposeAsync();
            if (embedded is not null) await embedded.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Node:TransportHost opens the silo and gateway ports beyond loopback; without Tls:Transport anyone who reaches
    /// them joins the cluster or calls grains, unauthenticated.
    /// </summary>
    private static void WarnIfTransportOpenInPlaintext(NodeSettings settings, TlsSettings tls, ILogger logger)
    {
        if (tls.Transport is null && !System.Net.IPAddress.IsLoopback(settings.AdvertisedAddress))
            logger.LogWarning("The silo and gateway ports listen on {Address} without TLS: set Tls:Transport:Certificate and Tls:Transport:CertificateAuthorities, or keep Node:TransportHost on loopback",
                settings.AdvertisedAddress);
    }

    /// <summary>
    /// One line per event on the console: .NET's simple formatter on a single line with a UTC timestamp by default, or
    /// its json formatter (one JSON object per line, the event's fields as State) with Logging:Console:FormatterName=json.
    /// The formatter is not forced here (AddSimpleConsole would override the configured name).
    /// </summary>
    private static void ConsoleLines(ILoggingBuilder logging)
    {
        logging.AddConsole();
        logging.Services.Configure<ConsoleLoggerOptions>(o => o.FormatterName ??= ConsoleFormatterNames.Simple);
        logging.Services.Configure<SimpleConsoleFormatterOptions>(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fff ";
            o.UseUtcTimestamp = true;
        });
        logging.Services.Configure<JsonConsoleFormatterOptions>(o =>
        {
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
            o.UseUtcTimestamp = true;
        });
    }

    /// <summary>A definition part may be 100 MB of base64-decoded bytes plus the call's framing.</summary>
    private const int MaxMessageBodySize = 128 * 1024 * 1024;

    /// <summary>
    /// Orleans' defaults take about a minute to declare a killed silo dead. An ML node's allocations should move
    /// within seconds: probe every second, suspect after three missed probes, and let two votes (one when there
    /// are two silos) declare it dead; a killed silo is declared dead in about 3–5 s.
    /// </summary>
    private static void FastFailureDetection(ClusterMembershipOptions options)
    {
        options.ProbeTimeout = TimeSpan.FromSeconds(1);
        options.NumMissedProbesLimit = 3;
        options.NumVotesForDeathDeclaration = 2;
        options.DeathVoteExpirationTimeout = TimeSpan.FromSeconds(10);
        options.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(2);
        options.NumMissedTableIAmAliveLimit = 2;
        options.TableRefreshTimeout = TimeSpan.FromSeconds(2);
    }

    /// <summary>
    /// Orleans' distributed grain directory instead of its default one. When a silo dies, the default directory
    /// deactivates every activation on the survivors whose registration that silo's partition held: a coordinator or
    /// deployment grain deactivating in the middle of a change waits for the change, while the change's transaction
    /// waits for a call into that grain (kill -9 tests hung for Orleans' 30 s response timeout). The distributed
    /// directory rebuilds a dead silo's partitions from the survivors' activations instead. Its range lease (30 s by
    /// default) keeps a dead silo's grains from re-activating while the silo might still be alive; our durable grains
    /// guard their rows with ETags (a stray twin's writes fail) and workers keep no state, so the lease defaults to 0
    /// here (Runtime:DirectoryRangeLease).
    /// </summary>
    private static void UseRecoveringGrainDirectory(ISiloBuilder silo, IConfiguration configuration)
    {
#pragma warning disable ORLEANSEXP003 // experimental in 10.4.2; the default directory's deactivations are worse for us
        silo.AddDistributedGrainDirectory();
#pragma warning restore ORLEANSEXP003
        silo.Configure<GrainDirectoryOptions>(o =>
        {
            o.RangeLeaseDuration = configuration.GetValue<TimeSpan?>("Runtime:DirectoryRangeLease") ?? TimeSpan.Zero;
            // Orleans keeps the address of every grain called, up to a million, whether it still exists or not (the soak
            // showed one entry more for each id a churn went through, about 250 bytes each): a miss costs one lookup.
            o.CacheSize = configuration.GetValue<int?>("Runtime:DirectoryCacheSize") ?? DirectoryCacheSize;
        });
    }

    /// <summary>Grain addresses a silo caches (Orleans' default is 1,000,000).</summary>
    public const int DirectoryCacheSize = 100_000;

    /// <summary>The API alone, as an Orleans client of the silos at Client:Gateways: no database, no grains here.</summary>
    private static async Task<SiloHost> StartClientOnlyAsync(WebApplicationBuilder builder, NodeSettings settings, TlsSettings tls,
        CancellationToken cancellationToken)
    {
        builder.Services.AddSingleton(settings);
        builder.UseOrleansClient(client =>
        {
            client.UseTrainedModelsCluster(settings.Gateways, settings.ClusterName);
            if (tls.Transport is { } transportTls) client.UseTrainedModelsTls(transportTls);
            client.Configure<ClientMessagingOptions>(o => o.MaxMessageBodySize = MaxMessageBodySize);
        });
        var app = builder.Build();
        try
        {
            var client = app.Services.GetRequiredService<IClusterClient>();
            app.UseElasticsearchApi();
            app.MapElasticsearchApi(new ApiIdentity(settings.NodeName, settings.ClusterName,
                () => client.GetGrain<IClusterInfoGrain>("cluster").GetClusterUuid()));
            // Orleans' client instruments only: the ML metrics are each silo's own, scraped from its node.
            app.MapPrometheusMetrics();
            // The silos set the elastic password; an API-only process only says when security is off.
            ElasticUserBootstrap.WarnIfDisabled(app.Services.GetRequiredService<IOptions<SecurityOptions>>().Value,
                app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("TrainedModelsOrleans.Security"));
            // The Orleans client connects as the host starts; the API answers once it has.
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
