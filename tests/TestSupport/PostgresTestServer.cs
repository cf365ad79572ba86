using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TrainedModelsOrleans.Silo.Storage;

namespace TrainedModelsOrleans.TestSupport;

/// <summary>
/// The PostgreSQL server a test process uses: the server named by <see cref="ConnectionStringVariable"/>
/// when set, otherwise one private cluster per test process, started on first use in
/// <c>&lt;<see cref="TestRunDirectory"/>&gt;/postgres</c> and stopped and deleted with that folder.
/// </summary>
public static class PostgresTestServer
{
    /// <summary>An admin (superuser) connection string to use instead of a private cluster.</summary>
    public const string ConnectionStringVariable = "TMO_TEST_POSTGRES";

    private static readonly Lazy<Task<string>> AdminConnectionString = new(StartAsync, LazyThreadSafetyMode.ExecutionAndPublication);
    private static EmbeddedPostgres? _server;

    /// <summary>Where the test support sends diagnostics about the server; quiet unless set before first use.</summary>
    public static ILogger Logger { get; set; } = NullLogger.Instance;

    /// <summary>The private cluster, or null when an external server is configured.</summary>
    public static async Task<EmbeddedPostgres?> GetEmbeddedAsync()
    {
        await AdminConnectionString.Value.ConfigureAwait(false);
        return _server;
    }

    /// <summary>A superuser connection string to the server's test database.</summary>
    public static Task<string> GetAdminConnectionStringAsync() => AdminConnectionString.Value;

    /// <summary>Creates an empty database (if missing) and returns its connection string.</summary>
    public static async Task<string> CreateDatabaseAsync(string name, CancellationToken ct = default)
    {
        var admin = await AdminConnectionString.Value.ConfigureAwait(false);
        return await PostgresDatabases.CreateIfMissingAsync(admin, name, ct).ConfigureAwait(false);
    }

    public static async Task DropDatabaseAsync(string name, CancellationToken ct = default)
    {
        var admin = await AdminConnectionString.Value.ConfigureAwait(false);
        await PostgresDatabases.DropIfExistsAsync(admin, name, ct).ConfigureAwait(false);
    }

    private static async Task<string> StartAsync()
    {
        if (Environment.GetEnvironmentVariable(ConnectionStringVariable) is { Length: > 0 } external) return external;
        if (OperatingSystem.IsWindows())
            throw new PlatformNotSupportedException($"The private test cluster needs Linux; set {ConnectionStringVariable} instead.");

        var options = new EmbeddedPostgresOptions
        {
            DataDirectory = Path.Combine(TestRunDirectory.Path, "postgres"),
            DatabaseName = "tmo_tests",
        };
        // Throwaway data: durability only costs time here.
        options.ServerSettings["fsync"] = "off";
        options.ServerSettings["synchronous_commit"] = "off";
        options.ServerSettings["full_page_writes"] = "off";
        _server = await EmbeddedPostgres.StartAsync(options, Logger, CancellationToken.None).ConfigureAwait(false);
        return _server.ConnectionString;
    }
}
