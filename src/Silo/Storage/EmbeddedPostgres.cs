using System.Net;
using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace TrainedModelsOrleans.Silo.Storage;

/// <summary>
/// A private PostgreSQL cluster in a folder of our own, listening on a loopback port: created on
/// first start (initdb), started with pg_ctl, and reused when a server from an earlier run of the
/// process (killed, say) is still running on that folder.
/// </summary>
/// <remarks>
/// Next to the cluster folder <c>&lt;parent&gt;/&lt;name&gt;</c> live <c>&lt;parent&gt;/&lt;name&gt;.password</c>
/// (the superuser password, 0600, owned by this process's user so later starts can read it) and
/// <c>&lt;parent&gt;/&lt;name&gt;.log</c> (the server log). When this process is root the cluster
/// belongs to the <c>postgres</c> account (initdb and postgres refuse root).
/// </remarks>
public sealed class EmbeddedPostgres : IAsyncDisposable
{
    private const string Superuser = "postgres";
    private const int PortAttempts = 5;

    private readonly EmbeddedPostgresOptions _options;
    private readonly ILogger _logger;
    private readonly string _password;
    private readonly bool _startedHere;
    private readonly HashSet<string> _handedOut = [];
    private int _stopped;

    private EmbeddedPostgres(EmbeddedPostgresOptions options, ILogger logger, string clusterDirectory, string password, int port, bool startedHere)
    {
        _options = options;
        _logger = logger;
        ClusterDirectory = clusterDirectory;
        _password = password;
        Port = port;
        _startedHere = startedHere;
        ConnectionString = ConnectionStringFor(options.DatabaseName);
    }

    /// <summary>The full path of the cluster folder.</summary>
    public string ClusterDirectory { get; }

    public int Port { get; }

    /// <summary>Superuser connection string for <see cref="EmbeddedPostgresOptions.DatabaseName"/>.</summary>
    public string ConnectionString { get; }

    /// <summary>False when an already running server was reused (this instance will not stop it on dispose).</summary>
    public bool StartedByThisInstance => _startedHere;

    public static string PasswordFileOf(string clusterDirectory) => SiblingFile(clusterDirectory, ".password");

    public static string LogFileOf(string clusterDirectory) => SiblingFile(clusterDirectory, ".log");

    public static async Task<EmbeddedPostgres> StartAsync(EmbeddedPostgresOptions options, ILogger logger, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException("The embedded PostgreSQL cluster needs Linux or macOS.");
        options.Validate();
        ClusterOwner.EnsureExists();

        var cluster = Path.TrimEndingDirectorySeparator(Path.GetFullPath(options.DataDirectory));
        Directory.CreateDirectory(Path.GetDirectoryName(cluster)!);
        ClusterOwner.EnsureAncestorsTraversable(cluster, logger);

        var password = await EnsureClusterAsync(cluster, options, logger, ct).ConfigureAwait(false);

        var running = await FindRunningServerAsync(cluster, password, options.ProcessTimeout, logger, ct).ConfigureAwait(false);
        EmbeddedPostgres server;
        if (running is { } port)
        {
            logger.LogInformation("Reusing the PostgreSQL server already running on {ClusterDirectory} (port {Port})", cluster, port);
            server = new EmbeddedPostgres(options, logger, cluster, password, port, startedHere: false);
        }
        else
        {
            server = await StartServerAsync(cluster, password, options, logger, ct).ConfigureAwait(false);
        }

        try
        {
            await PostgresDatabases.CreateIfMissingAsync(server.ConnectionString, options.DatabaseName, ct).ConfigureAwait(false);
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return server;
    }

    /// <summary>Creates a database on this server (if missing) and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string name, CancellationToken ct)
    {
        await PostgresDatabases.CreateIfMissingAsync(ConnectionString, name, ct).ConfigureAwait(false);
        var connectionString = ConnectionStringFor(name);
        lock (_handedOut) _handedOut.Add(connectionString);
        return connectionString;
    }

    /// <summary>Drops a database on this server if it exists.</summary>
    public Task DropDatabaseAsync(string name, CancellationToken ct) =>
        PostgresDatabases.DropIfExistsAsync(ConnectionString, name, ct);

    /// <summary>Stops the server (pg_ctl stop -m fast), whether or not this instance started it.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1) return;
        ClearPools();
        await StopClusterAsync(ClusterDirectory, _options.BinDirectory, _options.ProcessTimeout, immediate: false, _logger, CancellationToken.None)
            .ConfigureAwait(false);
    }

    /// <summary>
    /// Stops whatever server runs on <paramref name="clusterDirectory"/>; a no-op when none does.
    /// <paramref name="immediate"/> skips the shutdown checkpoint (crash recovery on next start).
    /// </summary>
    public static async Task StopClusterAsync(
        string clusterDirectory, string? binDirectory, TimeSpan timeout, bool immediate, ILogger logger, CancellationToken ct)
    {
        if (OperatingSystem.IsWindows()) throw new PlatformNotSupportedException("The embedded PostgreSQL cluster needs Linux or macOS.");
        if (PostmasterPidFile.Read(clusterDirectory) is not { IsPostmasterAlive: true }) return;
        var result = await PostgresTool.RunAsync(binDirectory, "pg_ctl",
            ["-D", clusterDirectory, "stop", "-m", immediate ? "immediate" : "fast", "-w", "-t", ((int)timeout.TotalSeconds).ToString()],
            timeout + TimeSpan.FromSeconds(10), logger, ct).ConfigureAwait(false);
        if (!result.Succeeded && PostmasterPidFile.Read(clusterDirectory) is { IsPostmasterAlive: true })
            throw new InvalidOperationException($"pg_ctl stop failed for {clusterDirectory}: {result.Output}");
        logger.LogInformation("Stopped the PostgreSQL server on {ClusterDirectory}", clusterDirectory);
    }

    public async ValueTask DisposeAsync()
    {
        if (_startedHere && _options.StopOnDispose) await StopAsync().ConfigureAwait(false);
    }

    // Pooled connections to a stopped server are dead; a server started again on the same port
    // must not be handed them.
    private void ClearPools()
    {
        string[] connectionStrings;
        lock (_handedOut) connectionStrings = [ConnectionString, .. _handedOut];
        foreach (var connectionString in connectionStrings)
        {
            using var connection = new NpgsqlConnection(connectionString);
            NpgsqlConnection.ClearPool(connection);
        }
    }

    private string ConnectionStringFor(string database) => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Username = Superuser,
        Password = _password,
        Database = database,
        SslMode = SslMode.Disable,
        ApplicationName = "TrainedModelsOrleans",
        MaxPoolSize = 50,
        ConnectionIdleLifetime = 60,
        Timeout = 15,
        CommandTimeout = 30,
    }.ConnectionString;

    /// <summary>Runs initdb when the folder holds no cluster yet; returns the superuser password.</summary>
    [UnsupportedOSPlatform("windows")]
    private static async Task<string> EnsureClusterAsync(string cluster, EmbeddedPostgresOptions options, ILogger logger, CancellationToken ct)
    {
        var passwordFile = PasswordFileOf(cluster);
        if (File.Exists(Path.Combine(cluster, "PG_VERSION")))
        {
            if (!File.Exists(passwordFile))
                throw new InvalidOperationException(
                    $"{cluster} holds a PostgreSQL cluster but its password file {passwordFile} is missing; " +
                    "restore the file or delete the cluster folder to start over.");
            ClusterOwner.Own(cluster); // postgres refuses a data folder it does not own
            return (await File.ReadAllTextAsync(passwordFile, ct).ConfigureAwait(false)).Trim();
        }

        if (Directory.Exists(cluster) && Directory.EnumerateFileSystemEntries(cluster).Any())
            throw new InvalidOperationException($"{cluster} is neither empty nor a PostgreSQL cluster; refusing to initialise it.");

        logger.LogInformation("Creating a PostgreSQL cluster in {ClusterDirectory}", cluster);
        Directory.CreateDirectory(cluster, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        ClusterOwner.Own(cluster);

        var password = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        // initdb reads the password as the cluster owner, from a file of its own that we delete at once.
        var initdbPasswordFile = SiblingFile(cluster, $".initdb-password-{Environment.ProcessId}");
        WritePrivateFile(initdbPasswordFile, password);
        ClusterOwner.Own(initdbPasswordFile);
        try
        {
            var result = await PostgresTool.RunAsync(options.BinDirectory, "initdb",
                ["-D", cluster, "-U", Superuser, "--auth=scram-sha-256", $"--pwfile={initdbPasswordFile}", "-E", "UTF8", "--locale=C.UTF-8"],
                options.ProcessTimeout, logger, ct).ConfigureAwait(false);
            if (!result.Succeeded)
                throw new InvalidOperationException($"initdb failed for {cluster} (exit code {result.ExitCode}):\n{result.Output}");
        }
        finally
        {
            File.Delete(initdbPasswordFile);
        }
        // Written after initdb succeeded: a password file always belongs to a complete cluster.
        WritePrivateFile(passwordFile, password);
        return password;
    }

    /// <summary>The port of a server already running on the folder and answering, or null when none runs.</summary>
    [UnsupportedOSPlatform("windows")]
    private static async Task<int?> FindRunningServerAsync(string cluster, string password, TimeSpan wait, ILogger logger, CancellationToken ct)
    {
        // A server still in crash recovery (its silo was killed mid-write) is worth waiting for.
        var deadline = DateTime.UtcNow + wait;
        while (true)
        {
            var pidFile = PostmasterPidFile.Read(cluster);
            if (pidFile is null) return null;
            if (!pidFile.IsPostmasterAlive)
            {
                if (!IsAnyProcess(pidFile.Pid))
                {
                    // postgres checks a dead pid's file itself (shared memory included) and replaces it.
                    logger.LogDebug("Stale {File} in {ClusterDirectory}: pid {Pid} is gone", PostmasterPidFile.FileName, cluster, pidFile.Pid);
                    return null;
                }
                // The pid is a zombie postmaster or now someone else's; postgres would take it for a live
                // postmaster and refuse to start, so the file goes once the old backends have left.
                if (!pidFile.IsSharedMemoryInUse)
                {
                    logger.LogInformation("Removing stale {File} of {ClusterDirectory} (pid {Pid} is no longer its postmaster)",
                        PostmasterPidFile.FileName, cluster, pidFile.Pid);
                    File.Delete(Path.Combine(cluster, PostmasterPidFile.FileName));
                    return null;
                }
            }
            else if (pidFile.Port > 0 && pidFile.Status == "ready" && await AcceptsConnectionsAsync(pidFile.Port, password, ct).ConfigureAwait(false))
            {
                return pidFile.Port;
            }
            if (DateTime.UtcNow > deadline)
                throw new InvalidOperationException(pidFile.IsPostmasterAlive
                    ? $"A PostgreSQL server (pid {pidFile.Pid}, status '{pidFile.Status}') runs on {cluster} but does not accept connections " +
                      $"on 127.0.0.1:{pidFile.Port}.{LogTail(cluster, 0)}"
                    : $"The postmaster (pid {pidFile.Pid}) of {cluster} is gone but processes are still attached to its shared memory " +
                      $"(id {pidFile.SharedMemoryId}); stop them before starting the server again.");
            logger.LogDebug("Waiting for the server on {ClusterDirectory} (pid {Pid}, status '{Status}')", cluster, pidFile.Pid, pidFile.Status);
            await Task.Delay(250, ct).ConfigureAwait(false);
        }
    }

    [UnsupportedOSPlatform("windows")]
    private static async Task<EmbeddedPostgres> StartServerAsync(
        string cluster, string password, EmbeddedPostgresOptions options, ILogger logger, CancellationToken ct)
    {
        var logFile = LogFileOf(cluster);
        if (!File.Exists(logFile)) WritePrivateFile(logFile, "");
        ClusterOwner.Own(logFile); // pg_ctl appends to it as the cluster owner

        for (var attempt = 1; ; attempt++)
        {
            var port = options.Port ?? FreeLoopbackPort();
            var logOffset = new FileInfo(logFile).Length;
            var result = await PostgresTool.RunAsync(options.BinDirectory, "pg_ctl",
                ["-D", cluster, "-l", logFile, "-w", "-t", ((int)options.ProcessTimeout.TotalSeconds).ToString(), "-o", ServerArguments(port, options), "start"],
                options.ProcessTimeout + TimeSpan.FromSeconds(10), logger, ct).ConfigureAwait(false);
            if (result.Succeeded)
            {
                logger.LogInformation("Started PostgreSQL on 127.0.0.1:{Port} with data in {ClusterDirectory}", port, cluster);
                return new EmbeddedPostgres(options, logger, cluster, password, port, startedHere: true);
            }

            var tail = LogTail(cluster, logOffset);
            // Two processes starting on one folder at once: the other one won, use its server.
            if (await FindRunningServerAsync(cluster, password, options.ProcessTimeout, logger, ct).ConfigureAwait(false) is { } running)
                return new EmbeddedPostgres(options, logger, cluster, password, running, startedHere: false);
            var portTaken = tail.Contains("Address already in use", StringComparison.Ordinal);
            if (portTaken && options.Port is null && attempt < PortAttempts)
            {
                logger.LogDebug("Port {Port} was taken before PostgreSQL could bind it; trying another", port);
                continue;
            }
            throw new InvalidOperationException(
                $"PostgreSQL did not start on 127.0.0.1:{port} for {cluster} (pg_ctl exit code {result.ExitCode}): {result.Output}{tail}");
        }
    }

    private static string ServerArguments(int port, EmbeddedPostgresOptions options)
    {
        var settings = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["fsync"] = "on",
            ["max_connections"] = "300",
        };
        foreach (var (name, value) in options.ServerSettings) settings[name] = value;
        // Loopback TCP only: no Unix socket, whose default folder the postgres account may not be able to write.
        settings["listen_addresses"] = "127.0.0.1";
        settings["port"] = port.ToString();
        settings["unix_socket_directories"] = "";
        return string.Join(' ', settings.Select(s => $"-c {s.Key}='{s.Value}'"));
    }

    private static async Task<bool> AcceptsConnectionsAsync(int port, string password, CancellationToken ct)
    {
        var probe = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1", Port = port, Username = Superuser, Password = password, Database = "postgres",
            SslMode = SslMode.Disable, Pooling = false, Timeout = 5,
        }.ConnectionString;
        try
        {
            await using var connection = new NpgsqlConnection(probe);
            await connection.OpenAsync(ct).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            return false;
        }
    }

    private static int FreeLoopbackPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        try
        {
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
        finally
        {
            listener.Stop();
        }
    }

    private static bool IsAnyProcess(int pid) =>
        Directory.Exists("/proc/self") ? Directory.Exists($"/proc/{pid}") : false;

    /// <summary>The server log written since <paramref name="offset"/>, last 40 lines, formatted for an exception message.</summary>
    private static string LogTail(string cluster, long offset)
    {
        var logFile = LogFileOf(cluster);
        try
        {
            using var stream = new FileStream(logFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            stream.Seek(Math.Max(offset, stream.Length - 64 * 1024), SeekOrigin.Begin);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            var lines = reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            return lines.Length == 0 ? "" : $"\nLast lines of {logFile}:\n{string.Join('\n', lines.TakeLast(40))}";
        }
        catch (IOException)
        {
            return "";
        }
    }

    [UnsupportedOSPlatform("windows")]
    private static void WritePrivateFile(string path, string contents)
    {
        using var stream = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.Create,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        });
        stream.Write(Encoding.UTF8.GetBytes(contents));
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite); // also when it existed
    }

    private static string SiblingFile(string clusterDirectory, string suffix)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(clusterDirectory));
        return Path.Combine(Path.GetDirectoryName(full)!, Path.GetFileName(full) + suffix);
    }
}
