using System.Collections.Concurrent;
using System.Diagnostics;

namespace TrainedModelsOrleans.Bench;

/// <summary>
/// A process a suite starts (a silo, a contestant, wrk, npm, apt-get): its output kept (the last lines), killed with its
/// children when disposed, and by <see cref="KillAll"/> when the bench exits on a signal (no finally block runs then).
/// </summary>
public sealed class BenchProcess : IAsyncDisposable
{
    private const int KeptLines = 5000;

    /// <summary>Every process started and not yet disposed, for <see cref="KillAll"/>.</summary>
    private static readonly ConcurrentDictionary<BenchProcess, bool> Running = new();

    /// <summary>Set by <see cref="KillAll"/>: a start racing with the bench's exit kills what it started.</summary>
    private static volatile bool _closed;

    private readonly Process _process;
    private readonly Queue<string> _lines = new();

    private BenchProcess(string name, Process process)
    {
        Name = name;
        _process = process;
    }

    public string Name { get; }
    public int Id => _process.Id;
    public bool HasExited => _process.HasExited;
    public int ExitCode => _process.ExitCode;

    public static BenchProcess Start(string name, string file, IEnumerable<string> arguments, string workingDirectory,
        IDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDirectory };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) start.Environment[key] = value;
        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {name}");
        var started = new BenchProcess(name, process);
        Running[started] = true;
        if (_closed)
        {
            KillAll();
            throw new OperationCanceledException("the bench is exiting");
        }
        process.OutputDataReceived += (_, e) => started.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => started.Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return started;
    }

    /// <summary>Waits (bounded) for the process to end and returns its output; past the bound it is killed.</summary>
    public async Task<string> WaitForExitAsync(TimeSpan bound)
    {
        try
        {
            await _process.WaitForExitAsync().WaitAsync(bound);
        }
        catch (TimeoutException)
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Name} did not finish within {bound.TotalSeconds:0} s\n{OutputTail()}");
        }
        _process.WaitForExit(); // flushes the redirected output
        lock (_lines) return string.Join('\n', _lines);
    }

    /// <summary>SIGKILL to this process alone (a silo's kill -9: no shutdown code runs).</summary>
    public void Kill() => _process.Kill(entireProcessTree: false);

    public string OutputTail(int lines = 40)
    {
        lock (_lines)
            return $"--- last output of {Name} (pid {_process.Id}{(_process.HasExited ? $", exited {_process.ExitCode}" : "")}) ---\n{string.Join('\n', _lines.Skip(Math.Max(0, _lines.Count - lines)))}";
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            }
        }
        finally
        {
            Running.TryRemove(this, out _);
            _process.Dispose();
        }
    }

    /// <summary>SIGKILL to every process still running (and its children); safe from a signal handler.</summary>
    public static void KillAll()
    {
        _closed = true;
        foreach (var running in Running.Keys)
        {
            try { running._process.Kill(entireProcessTree: true); }
            catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception) { }
        }
    }

    private void Keep(string? line)
    {
        if (line is null) return;
        lock (_lines)
        {
            if (_lines.Count == KeptLines) _lines.Dequeue();
            _lines.Enqueue(line);
        }
    }
}
