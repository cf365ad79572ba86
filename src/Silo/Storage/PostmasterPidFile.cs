using System.Diagnostics;

namespace TrainedModelsOrleans.Silo.Storage;

/// <summary>
/// A cluster's <c>postmaster.pid</c>: line 1 the postmaster's pid, line 2 the cluster folder,
/// line 4 its port, line 7 its System V shared memory key and id, line 8 its status (starting /
/// ready / stopping). The file outlives a killed postmaster, so <see cref="IsPostmasterAlive"/>
/// checks that the pid still belongs to a postgres process serving that folder.
/// </summary>
public sealed record PostmasterPidFile(int Pid, string DataDirectory, int Port, long SharedMemoryId, string Status)
{
    public const string FileName = "postmaster.pid";

    /// <summary>The file's contents, or null when there is no (complete) file.</summary>
    public static PostmasterPidFile? Read(string clusterDirectory)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(Path.Combine(clusterDirectory, FileName));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
        // The postmaster writes the first lines at once and the port/status lines as start-up goes on.
        if (lines.Length < 1 || !int.TryParse(lines[0].Trim(), out var pid)) return null;
        var dataDirectory = lines.Length >= 2 ? lines[1].Trim() : "";
        var port = lines.Length >= 4 && int.TryParse(lines[3].Trim(), out var p) ? p : 0;
        var sharedMemory = lines.Length >= 7 ? lines[6].Split(' ', StringSplitOptions.RemoveEmptyEntries) : [];
        var sharedMemoryId = sharedMemory.Length == 2 && long.TryParse(sharedMemory[1], out var id) ? id : -1;
        var status = lines.Length >= 8 ? lines[7].Trim() : "";
        return new PostmasterPidFile(pid, dataDirectory, port, sharedMemoryId, status);
    }

    /// <summary>
    /// True while a postgres process has this pid. A pid reused by an unrelated process (after a
    /// reboot, say), or by the postmaster of another folder, does not count: that file is stale.
    /// </summary>
    public bool IsPostmasterAlive
    {
        get
        {
            var proc = $"/proc/{Pid}";
            if (Directory.Exists("/proc/self"))
            {
                try
                {
                    return File.ReadAllText(Path.Combine(proc, "comm")).Trim() == "postgres" && !IsZombie(proc) && ServesThisFolder(proc);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    return false;
                }
            }
            try
            {
                using var process = Process.GetProcessById(Pid);
                return !process.HasExited && process.ProcessName.StartsWith("postgres", StringComparison.Ordinal);
            }
            catch (ArgumentException)
            {
                return false;
            }
        }
    }

    /// <summary>
    /// True while processes are still attached to the postmaster's shared memory: backends of a
    /// killed postmaster that have not noticed yet. A new postmaster must not start before they go.
    /// </summary>
    public bool IsSharedMemoryInUse
    {
        get
        {
            const string segments = "/proc/sysvipc/shm"; // key shmid perms size cpid lpid nattch ...
            if (SharedMemoryId < 0 || !File.Exists(segments)) return false;
            foreach (var line in File.ReadLines(segments).Skip(1))
            {
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length > 6 && long.TryParse(fields[1], out var id) && id == SharedMemoryId)
                    return long.TryParse(fields[6], out var attached) && attached > 0;
            }
            return false;
        }
    }

    // Killed but not yet reaped (our postmasters are reparented to init, which may reap late).
    private static bool IsZombie(string proc)
    {
        var stat = File.ReadAllText(Path.Combine(proc, "stat"));
        var state = stat.LastIndexOf(')') + 2;
        return state < stat.Length && stat[state] is 'Z' or 'X';
    }

    // A postmaster keeps its command line; when it names its folder with an absolute -D, that must be ours.
    private bool ServesThisFolder(string proc)
    {
        var args = File.ReadAllText(Path.Combine(proc, "cmdline")).Split('\0');
        var d = Array.IndexOf(args, "-D");
        if (d < 0 || d + 1 >= args.Length || !Path.IsPathRooted(args[d + 1]) || DataDirectory.Length == 0) return true;
        return Path.TrimEndingDirectorySeparator(Path.GetFullPath(args[d + 1])) ==
               Path.TrimEndingDirectorySeparator(Path.GetFullPath(DataDirectory));
    }
}
