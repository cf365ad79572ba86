using System.Globalization;

namespace TrainedModelsOrleans.Bench;

/// <summary>What Linux's /proc tells about another process: its resident memory, its peak, its threads and its open handles.</summary>
public static class ProcessFigures
{
    public static long Rss(int pid) => StatusKb(pid, "VmRSS:") * 1024;

    /// <summary>The kernel's high-water mark of the process's RSS: the peak, however short.</summary>
    public static long PeakRss(int pid) => StatusKb(pid, "VmHWM:") * 1024;

    public static long Threads(int pid) => StatusKb(pid, "Threads:");

    /// <summary>Open file descriptors: files, sockets, pipes, eventfds.</summary>
    public static int Handles(int pid) => Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd").Count();

    private static long StatusKb(int pid, string field)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith(field, StringComparison.Ordinal));
        return long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
    }
}
