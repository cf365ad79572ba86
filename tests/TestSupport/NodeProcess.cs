using System.Diagnostics;
using System.Globalization;

namespace TrainedModelsOrleans.TestSupport;

/// <summary>
/// A node run as its own process (the real Silo executable), so a test can kill it with SIGKILL and
/// start it again, as an operator's machine would. The last lines it wrote (stdout and stderr) are kept
/// for failure messages; with TMO_TEST_PROCESS_LOGS set to a folder, every line also goes to a file there.
/// </summary>
public sealed class NodeProcess : IAsyncDisposable
{
    public const string SiloAssembly = "TrainedModelsOrleans.Silo.dll";

    private const int KeptLines = 200;
    private static readonly HashSet<int> HandedOut = [];
    private static readonly TimeSpan DefaultStartTimeout = TimeSpan.FromSeconds(60);

    private readonly Process _process;
    private readonly Uri? _baseAddress;
    private readonly Queue<string> _lines = new();
    private readonly string _name;
    private readonly StreamWriter? _fullLog;

    private NodeProcess(Process process, Uri? baseAddress, string name)
    {
        _process = process;
        _baseAddress = baseAddress;
        _name = name;
        if (Environment.GetEnvironmentVariable("TMO_TEST_PROCESS_LOGS") is { Length: > 0 } folder)
        {
            Directory.CreateDirectory(folder);
            _fullLog = new StreamWriter(Path.Combine(folder, $"{DateTime.UtcNow:HHmmss}-{process.Id}.log")) { AutoFlush = true };
        }
    }

    /// <summary>Where the node's HTTP API answers.</summary>
    public Uri BaseAddress => _baseAddress ?? throw new InvalidOperationException($"{_name} has no HTTP address.");

    public int ProcessId => _process.Id;

    public bool HasExited => _process.HasExited;

    /// <summary>The exit code once the process has exited, else null.</summary>
    public int? ExitCode => _process.HasExited ? _process.ExitCode : null;

    /// <summary>Starts the silo executable with its HTTP API on 127.0.0.1:<paramref name="port"/> and waits until <c>GET /</c> answers.</summary>
    public static Task<NodeProcess> StartAsync(int port, params string[] args) => StartAsync(port, args, DefaultStartTimeout);

    public static Task<NodeProcess> StartAsync(int port, IEnumerable<string> args, TimeSpan startTimeout) =>
        StartAsync(new Uri($"http://127.0.0.1:{port}"), args, startTimeout);

    /// <summary>
    /// Starts the silo executable with its HTTP API at <paramref name="baseAddress"/> (https:// for a node with
    /// Tls:Http; <paramref name="handler"/> then trusts its certificate) and waits until <c>GET /</c> answers.
    /// </summary>
    public static async Task<NodeProcess> StartAsync(Uri baseAddress, IEnumerable<string> args, TimeSpan startTimeout,
        Func<HttpMessageHandler>? handler = null)
    {
        var node = Launch(SiloAssembly, [$"--Urls={baseAddress}", .. TestSecurity.Arguments, .. args], baseAddress);
        try
        {
            await node.WaitUntilAnsweringAsync(startTimeout, handler);
            return node;
        }
        catch
        {
            await node.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts the silo executable with exactly these settings (no test password) and returns at once.</summary>
    public static NodeProcess LaunchSilo(int port, IEnumerable<string> args)
    {
        var baseAddress = new Uri($"http://127.0.0.1:{port}");
        return Launch(SiloAssembly, [$"--Urls={baseAddress}", .. args], baseAddress);
    }

    /// <summary>Starts an executable of the test output folder (a sample console, say) and returns at once.</summary>
    public static NodeProcess Launch(string assemblyFileName, IEnumerable<string> args) => Launch(assemblyFileName, args, null);

    private static NodeProcess Launch(string assemblyFileName, IEnumerable<string> args, Uri? baseAddress)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, assemblyFileName));
        foreach (var arg in args) start.ArgumentList.Add(arg);
        var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {assemblyFileName}");
        var node = new NodeProcess(process, baseAddress, $"{Path.GetFileNameWithoutExtension(assemblyFileName)} (pid {process.Id})");
        process.OutputDataReceived += (_, e) => node.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => node.Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return node;
    }

    /// <summary>
    /// A port free now, below Linux's ephemeral range (32768–60999): a port the kernel hands out for port 0 is also
    /// what it gives outgoing connections (PostgreSQL, Orleans, HTTP clients), which took one between the check and
    /// the silo binding it. A port is handed out once per test process: two nodes started side by side each checked the
    /// same free port once, and the second failed to bind it.
    /// </summary>
    public static int FreePort()
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var port = Random.Shared.Next(20_000, 32_000);
            lock (HandedOut)
            {
                if (!HandedOut.Add(port)) continue;
            }
            var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port);
            try
            {
                listener.Start();
                return port;
            }
            catch (System.Net.Sockets.SocketException)
            {
                // taken: try another
            }
            finally
            {
                listener.Stop();
            }
        }
        throw new InvalidOperationException("no free port found in 20000–31999");
    }

    /// <summary>Everything kept of stdout and stderr (the last lines), oldest first.</summary>
    public IReadOnlyList<string> Output
    {
        get
        {
            lock (_lines) return _lines.ToArray();
        }
    }

    /// <summary>The last <paramref name="lines"/> lines the process wrote (each cut at 600 characters: single-line logs carry stack traces), for an assertion message.</summary>
    public string OutputTail(int lines = 40)
    {
        var kept = Output;
        var shown = kept.Skip(Math.Max(0, kept.Count - lines)).Select(l => l.Length <= 600 ? l : l[..600] + " …");
        return $"--- last output of {_name}{(HasExited ? $", exit code {_process.ExitCode}" : "")} ---\n{string.Join('\n', shown)}";
    }

    /// <summary>Waits for the process to end on its own; throws with its last output when it is still running after <paramref name="bound"/>.</summary>
    public async Task<int> WaitForExitAsync(TimeSpan bound)
    {
        try
        {
            await _process.WaitForExitAsync().WaitAsync(bound);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{_name} was still running after {bound.TotalSeconds:0.#} s\n{OutputTail()}");
        }
        return _process.ExitCode;
    }

    /// <summary>kill -9: no shutdown code runs.</summary>
    public async Task KillAsync()
    {
        if (_process.HasExited) return;
        _process.Kill(entireProcessTree: false);
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>SIGTERM: a graceful stop.</summary>
    public async Task StopAsync()
    {
        if (_process.HasExited) return;
        Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)])!.WaitForExit();
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(60));
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        _process.Dispose();
    }

    private async Task WaitUntilAnsweringAsync(TimeSpan bound, Func<HttpMessageHandler>? handler)
    {
        using var http = TestSecurity.Client(BaseAddress, TimeSpan.FromSeconds(2), handler: handler?.Invoke());
        var deadline = DateTime.UtcNow + bound;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited) throw new InvalidOperationException($"{_name} exited with {_process.ExitCode} before answering\n{OutputTail()}");
            try
            {
                using var response = await http.GetAsync("/");
                if (response.IsSuccessStatusCode) return;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            await Task.Delay(100);
        }
        throw new TimeoutException($"{_name} did not answer on {BaseAddress} within {bound.TotalSeconds:0} s\n{OutputTail()}");
    }

    private void Keep(string? line)
    {
        if (line is null) return;
        lock (_lines)
        {
            if (_lines.Count == KeptLines) _lines.Dequeue();
            _lines.Enqueue(line);
            _fullLog?.WriteLine(line);
        }
    }
}
