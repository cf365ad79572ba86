using System.Diagnostics;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using TrainedModelsOrleans.Runtime.Storage;

namespace TrainedModelsOrleans.TestSupport;

/// <summary>
/// The PostgreSQL server a test process uses: the server named by <see cref="ConnectionStringVariable"/>
/// when set, otherwise one private cluster per test process, started on first use in a fresh folder
/// under <see cref="RunsDirectory"/> and stopped and deleted when the process exits.
/// </summary>
/// <remarks>
/// A run killed before it could clean up is covered twice: a detached watchdog shell stops the
/// cluster and deletes its folder once the test process is gone, and every start deletes the
/// folders of runs older than an hour whose server is not running (stopping it first when the
/// run that owned it is dead).
/// </remarks>
public static class PostgresTestServer
{
    /// <summary>An admin (superuser) connection string to use instead of a private cluster.</summary>
    public const string ConnectionStringVariable = "TMO_TEST_POSTGRES";

    public const string RunsDirectory = "/tmp/tmo-tests";

    private static readonly TimeSpan AbandonedAfter = TimeSpan.FromHours(1);
    private const string OwnerFileName = "owner";

    private static readonly Lazy<Task<string>> AdminConnectionString = new(StartAsync, LazyThreadSafetyMode.ExecutionAndPublication);
    private static EmbeddedPostgres? _server;
    private static string? _runDirectory;

    /// <summary>Where tests can send diagnostics about the server; quiet unless a test sets it first.</summary>
    public static ILogger Logger { get; set; } = NullLogger.Instance;

    /// <summary>The private cluster, or null when an external server is configured.</summary>
    public static async Task<EmbeddedPostgres?> GetEmbeddedAsync()
    {
        await AdminConnectionString.Value.ConfigureAwait(false);
        return _server;
    }

    /// <summary>A superuser connection string to the server's <c>postgres</c> database.</summary>
    public static Task<string> GetAdminConnectionStringAsync() => AdminConnectionString.Value;

    /// <summary>Creates an empty database and returns its connection string.</summary>
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

        Directory.CreateDirectory(RunsDirectory);
        // Shared by every test run on the machine, whoever runs it; like /tmp itself.
        File.SetUnixFileMode(RunsDirectory, (UnixFileMode)Convert.ToInt32("1777", 8));
        await DeleteAbandonedRunsAsync().ConfigureAwait(false);

        var run = Path.Combine(RunsDirectory, $"{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Environment.ProcessId}-{Guid.NewGuid():N}"[..40]);
        Directory.CreateDirectory(run, (UnixFileMode)Convert.ToInt32("755", 8));
        await File.WriteAllTextAsync(Path.Combine(run, OwnerFileName), OwnerProcess.Current().ToString()).ConfigureAwait(false);
        _runDirectory = run;
        AppDomain.CurrentDomain.ProcessExit += (_, _) => StopAndDelete();
        StartWatchdog(run);

        var options = new EmbeddedPostgresOptions
        {
            DataDirectory = Path.Combine(run, "postgres"),
            DatabaseName = "tmo_tests",
            StopOnDispose = true,
        };
        // Throwaway data: durability only costs time here.
        options.ServerSettings["fsync"] = "off";
        options.ServerSettings["synchronous_commit"] = "off";
        options.ServerSettings["full_page_writes"] = "off";
        _server = await EmbeddedPostgres.StartAsync(options, Logger, CancellationToken.None).ConfigureAwait(false);
        return _server.ConnectionString;
    }

    /// <remarks>
    /// The test host gets only a moment between its last test and being killed by the runner, too
    /// short for pg_ctl: the postmaster gets SIGQUIT (immediate shutdown, the data is throwaway)
    /// straight from here, and the watchdog finishes the job if the folder is still there.
    /// </remarks>
    private static void StopAndDelete()
    {
        try
        {
            if (_server is null || _runDirectory is not { } run) return;
            if (PostmasterPidFile.Read(_server.ClusterDirectory) is { IsPostmasterAlive: true } postmaster)
            {
                kill(postmaster.Pid, SigQuit);
                // Its last act is removing postmaster.pid (the process may linger as a zombie).
                var pidFile = Path.Combine(_server.ClusterDirectory, PostmasterPidFile.FileName);
                for (var waited = 0; File.Exists(pidFile) && waited < 5_000; waited += 20) Thread.Sleep(20);
            }
            Directory.Delete(run, recursive: true);
        }
        catch (Exception e)
        {
            // Too late to fail anything; the watchdog and the next run's clean-up get another go.
            Console.Error.WriteLine($"PostgresTestServer: clean-up of {_runDirectory} failed: {e.Message}");
        }
    }

    private const int SigQuit = 3;

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);

    /// <summary>
    /// A shell in its own session that outlives a killed test process (even a process-tree kill),
    /// waits for it to end, then stops the cluster and deletes the run folder.
    /// </summary>
    private static void StartWatchdog(string run)
    {
        const string script = """
            exec </dev/null >/dev/null 2>&1
            while kill -0 "$1"; do sleep 0.2; done
            if [ -f "$2/postmaster.pid" ]; then
              if [ "$(id -u)" = 0 ]; then runuser -u postgres -- pg_ctl -D "$2" stop -m immediate -w -t 30
              else pg_ctl -D "$2" stop -m immediate -w -t 30; fi
            fi
            rm -rf "$3"
            """;
        var start = new ProcessStartInfo("setsid")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in new[] { "-f", "sh", "-c", script, "tmo-test-watchdog", Environment.ProcessId.ToString(), Path.Combine(run, "postgres"), run })
            start.ArgumentList.Add(a);
        try
        {
            using var process = Process.Start(start)!;
            process.WaitForExit(10_000); // setsid -f returns once the shell is detached
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Logger.LogDebug("No watchdog for {Run}: {Reason}", run, e.Message);
        }
    }

    private static async Task DeleteAbandonedRunsAsync()
    {
        foreach (var run in Directory.EnumerateDirectories(RunsDirectory))
        {
            try
            {
                if (DateTime.UtcNow - Directory.GetLastWriteTimeUtc(run) < AbandonedAfter) continue;
                var cluster = Path.Combine(run, "postgres");
                if (PostmasterPidFile.Read(cluster) is { IsPostmasterAlive: true })
                {
                    if (OwnerProcess.Read(Path.Combine(run, OwnerFileName)) is not { IsAlive: false }) continue;
                    await EmbeddedPostgres.StopClusterAsync(cluster, null, TimeSpan.FromSeconds(30), immediate: true, Logger, CancellationToken.None)
                        .ConfigureAwait(false);
                }
                Directory.Delete(run, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or TimeoutException)
            {
                Logger.LogDebug("Could not delete abandoned test run {Run}: {Reason}", run, e.Message);
            }
        }
    }

    /// <summary>A process identified by pid and start time, so a reused pid is not mistaken for it.</summary>
    private sealed record OwnerProcess(int Pid, string StartTime)
    {
        public static OwnerProcess Current() => new(Environment.ProcessId, StartTimeOf(Environment.ProcessId) ?? "");

        public static OwnerProcess? Read(string path)
        {
            if (!File.Exists(path)) return null;
            var parts = File.ReadAllText(path).Trim().Split(' ');
            return parts.Length == 2 && int.TryParse(parts[0], out var pid) ? new OwnerProcess(pid, parts[1]) : null;
        }

        public bool IsAlive => StartTimeOf(Pid) is { } started && started == StartTime;

        public override string ToString() => $"{Pid} {StartTime}";

        // Field 22 of /proc/<pid>/stat, counted after the parenthesised command name (which may hold spaces).
        private static string? StartTimeOf(int pid)
        {
            try
            {
                var stat = File.ReadAllText($"/proc/{pid}/stat");
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                return fields.Length > 19 ? fields[19] : null;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return null;
            }
        }
    }
}
