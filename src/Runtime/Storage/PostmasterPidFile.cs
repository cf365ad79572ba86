using System.Diagnostics;

namespace TrainedModelsOrleans.Runtime.Storage;

/// <summary>
/// A cluster's <c>postmaster.pid</c>: line 1 the postmaster's pid, line 4 its port, line 8 its
/// status (starting / ready / stopping). The file outlives a killed postmaster, so
/// <see cref="IsPostmasterAlive"/> checks that the pid still belongs to a postgres process.
/// </summary>
public sealed record PostmasterPidFile(int Pid, int Port, string Status)
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
        var port = lines.Length >= 4 && int.TryParse(lines[3].Trim(), out var p) ? p : 0;
        var status = lines.Length >= 8 ? lines[7].Trim() : "";
        return new PostmasterPidFile(pid, port, status);
    }

    /// <summary>
    /// True while a postgres process has this pid. A pid reused by an unrelated process (after a
    /// reboot, say) does not count: that file is stale.
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
                    return File.ReadAllText(Path.Combine(proc, "comm")).Trim() == "postgres";
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
}
