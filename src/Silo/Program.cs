using Npgsql;
using TrainedModelsOrleans.Api;
using TrainedModelsOrleans.Api.Endpoints;
using TrainedModelsOrleans.Runtime.Hosting;
using TrainedModelsOrleans.Runtime.Storage;
using TrainedModelsOrleans.Silo;

// One process = one ML node: a silo, and (by default) the Elasticsearch-compatible API beside it.
var builder = WebApplication.CreateBuilder(args);
var settings = NodeSettings.From(builder.Configuration);
if (string.IsNullOrEmpty(builder.Configuration["Urls"])) builder.WebHost.UseUrls(NodeSettings.DefaultUrls);
builder.Logging.AddSimpleConsole(o =>
{
    o.SingleLine = true;
    o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fff ";
    o.UseUtcTimestamp = true;
});

using var startupLogging = LoggerFactory.Create(l => l.AddConfiguration(builder.Configuration.GetSection("Logging")).AddSimpleConsole(o => o.SingleLine = true));
using var stopStartup = new CancellationTokenSource(TimeSpan.FromMinutes(2));

EmbeddedPostgres? embedded = null;
var connectionString = builder.Configuration.GetConnectionString("Postgres");
if (string.IsNullOrWhiteSpace(connectionString))
{
    // Embedded default: a private PostgreSQL cluster in the data folder, started (or reused) here.
    embedded = await EmbeddedPostgres.StartAsync(
        new EmbeddedPostgresOptions { DataDirectory = Path.Combine(settings.DataDirectory, "postgres") },
        startupLogging.CreateLogger("TrainedModelsOrleans.EmbeddedPostgres"), stopStartup.Token);
    connectionString = embedded.ConnectionString;
}

var dataSource = NpgsqlDataSource.Create(connectionString);
builder.Services.AddSingleton(dataSource);
builder.Services.AddSingleton(settings);
builder.Services.AddSilo(silo => settings.Configure(silo));
var identity = new ApiIdentity(settings.NodeName, settings.ClusterName, await ClusterUuid.ReadAsync(dataSource, stopStartup.Token));

var app = builder.Build();
app.UseElasticsearchApi();
app.MapElasticsearchApi(identity);
try
{
    await app.RunAsync();
}
finally
{
    await dataSource.DisposeAsync();
    if (embedded is not null) await embedded.DisposeAsync();
}

/// <summary>Lets tests start the whole service in process (WebApplicationFactory-style).</summary>
public partial class Program;
