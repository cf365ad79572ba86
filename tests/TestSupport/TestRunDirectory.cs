using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using TrainedModelsOrleans.Silo.Storage;

namespace TrainedModelsOrleans.TestSupport;

/// <summary>
/// This test process's folder, <c>/tmp/tmo-tests/&lt;run&gt;</c>: where the shared test cluster and
/// any cluster a test starts itself (under <see cref="CreateScratchDirectory"/>) live, so that one
/// clean-up covers them all. Every PostgreSQL server found under it is stopped and the folder
/// deleted when the process exits; if the process is killed, a detached watchdog shell does that;
/// and each new run deletes the folders of runs older than an hour that nobody cleaned.
/// </summary>
[UnsupportedOSPlatform("windows")]
public static class TestRunDirectory
{
    public const string Root = "/tmp/tmo-tests";

    private const string OwnerFileName = "owner";
    private const int SigQuit = 3;
    private static readonly TimeSpan AbandonedAfter = TimeSpan.FromHours(1);
    private static readonly Lazy<string> Run = new(Create, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The run folder (0755), created on first use.</summary>
    public static string Path => Run.Value;

    /// <summary>A new folder inside the run folder with mode 0700, the way <c>mktemp -d</c> makes one.</summary>
    public static string CreateScratchDirectory(string prefix) =>
        Directory.CreateDirectory(
            System.IO.Path.Combine(Path, $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)]),
            UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute).FullName;

    private static string Create()
    {
        Directory.CreateDirectory(Root);
        // Shared by every test run on the machine, whoever runs it; like /tmp itself.
        File.SetUnixFileMode(Root, (UnixFileMode)Convert.ToInt32("1777", 8));
        DeleteAbandonedRuns();

        var run = System.IO.Path.Combine(Root, $"{DateTime.UtcNow:yyyyMMdd-HHmmss}-{Environment.ProcessId}-{Guid.NewGuid():N}"[..40]);
        Directory.CreateDirectory(run, (UnixFileMode)Convert.ToInt32("755", 8));
        File.WriteAllText(System.IO.Path.Combine(run, OwnerFileName), OwnerProcess.Current().ToString());
        AppDomain.CurrentDomain.ProcessExit += (_, _) => StopServersAndDelete(run);
        StartWatchdog(run);
        return run;
    }

    /// <remarks>
    /// The test host gets only a moment between its last test and being killed by the runner, too
    /// short for pg_ctl (a fork of runuser and pg_ctl per server): postmasters get SIGQUIT, an
    /// immediate shutdown, straight from here. The data is throwaway.
    /// </remarks>
    private static void StopServersAndDelete(string run)
    {
        try
        {
            var clusters = RunningClusters(run).ToList();
            foreach (var (_, postmaster) in clusters) kill(postmaster.Pid, SigQuit);
            // A postmaster's last act is removing postmaster.pid (the process may linger as a zombie).
            var deadline = DateTime.UtcNow.AddSeconds(5);
            while (clusters.Any(c => File.Exists(System.IO.Path.Combine(c.Cluster, PostmasterPidFile.FileName))) && DateTime.UtcNow < deadline)
                Thread.Sleep(20);
            Directory.Delete(run, recursive: true);
        }
        catch (Exception e)
        {
            // Too late to fail anything; the watchdog and the next run's clean-up get another go.
            Console.Error.WriteLine($"TestRunDirectory: clean-up of {run} failed: {e.Message}");
        }
    }

    /// <summary>
    /// A shell in its own session that outlives a killed test process (even a process-tree kill),
    /// waits for it to end, then stops every cluster under the run folder and deletes it.
    /// </summary>
    private static void StartWatchdog(string run)
    {
        const string script = """
            exec </dev/null >/dev/null 2>&1
            while kill -0 "$1"; do sleep 0.2; done
            find "$2" -maxdepth 5 -name postmaster.pid | while read -r pidfile; do
              cluster=$(dirname "$pidfile")
              if [ "$(id -u)" = 0 ]; then runuser -u postgres -- pg_ctl -D "$cluster" stop -m immediate -w -t 30
              else pg_ctl -D "$cluster" stop -m immediate -w -t 30; fi
            done
            rm -rf "$2"
            """;
        var start = new ProcessStartInfo("setsid")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in new[] { "-f", "sh", "-c", script, "tmo-test-watchdog", Environment.ProcessId.ToString(), run })
            start.ArgumentList.Add(a);
        try
        {
            using var process = Process.Start(start)!;
            process.WaitForExit(10_000); // setsid -f returns once the shell is detached
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Console.Error.WriteLine($"TestRunDirectory: no watchdog for {run} ({e.Message}); a killed run leaves its servers running.");
        }
    }

    private static void DeleteAbandonedRuns()
    {
        foreach (var run in Directory.EnumerateDirectories(Root))
        {
            try
            {
                if (DateTime.UtcNow - Directory.GetLastWriteTimeUtc(run) < AbandonedAfter) continue;
                var owner = OwnerProcess.Read(System.IO.Path.Combine(run, OwnerFileName));
                if (owner is { IsAlive: true }) continue; // a long run, still going
                var running = RunningClusters(run).ToList();
                // Servers of a run known to be dead have nobody else to stop them; of an unknown owner, leave them be.
                if (running.Count > 0 && owner is null) continue;
                foreach (var (cluster, _) in running)
                    EmbeddedPostgres.StopClusterAsync(cluster, null, TimeSpan.FromSeconds(30), immediate: true,
                        PostgresTestServer.Logger, CancellationToken.None).GetAwaiter().GetResult();
                Directory.Delete(run, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or TimeoutException)
            {
                Console.Error.WriteLine($"TestRunDirectory: could not delete abandoned test run {run}: {e.Message}");
            }
        }
    }

    private static IEnumerable<(string Cluster, PostmasterPidFile Postmaster)> RunningClusters(string run)
    {
        var options = new EnumerationOptions { RecurseSubdirectories = true, MaxRecursionDepth = 5, IgnoreInaccessible = true };
        foreach (var pidFile in Directory.EnumerateFiles(run, PostmasterPidFile.FileName, options))
        {
            var cluster = System.IO.Path.GetDirectoryName(pidFile)!;
            if (PostmasterPidFile.Read(cluster) is { IsPostmasterAlive: true } postmaster) yield return (cluster, postmaster);
        }
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);

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
