using System.Diagnostics;

namespace TrainedModelsOrleans.Ui.Tests;

/// <summary>
/// Debian's Chromium, the only browser these tests drive (never a browser download). CI runs the tests as root on a
/// machine where apt works but the package may be missing: the first test to need it installs <c>chromium</c> once,
/// non-interactively (waiting for another apt to let go of its lock), and fails with apt's own output if that does not
/// work. Playwright drives it over CDP, so no chromedriver is needed.
/// </summary>
public static class SystemChromium
{
    public const string ExecutablePath = "/usr/bin/chromium";

    /// <summary>
    /// The flags this machine needs (docs: machines/dotnet.md): no sandbox as root, no GPU, and none of Chromium's
    /// background connections, which the closed network refuses many at a time.
    /// </summary>
    public static readonly IReadOnlyList<string> Arguments =
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ];

    private static readonly SemaphoreSlim Installing = new(1, 1);
    private static readonly TimeSpan AptTimeout = TimeSpan.FromMinutes(10);

    public static async Task EnsureInstalledAsync()
    {
        if (File.Exists(ExecutablePath)) return;
        await Installing.WaitAsync();
        try
        {
            if (File.Exists(ExecutablePath)) return;
            const string installChromium = "-o DPkg::Lock::Timeout=300 install -y --no-install-recommends chromium";
            var install = await AptAsync(installChromium);
            // A fresh machine may have no package lists yet: read them once and try again.
            if (install.ExitCode != 0) install = await AptAsync("-o DPkg::Lock::Timeout=300 update") is { ExitCode: 0 } ? await AptAsync(installChromium) : install;
            if (install.ExitCode != 0 || !File.Exists(ExecutablePath))
                throw new InvalidOperationException(
                    $"{ExecutablePath} is missing and 'apt-get install -y chromium' failed (exit {install.ExitCode}); " +
                    $"install Debian's chromium (as root) and run the tests again.\n{install.Output}");
        }
        finally
        {
            Installing.Release();
        }
    }

    private static async Task<(int ExitCode, string Output)> AptAsync(string arguments)
    {
        var start = new ProcessStartInfo("apt-get", arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["DEBIAN_FRONTEND"] = "noninteractive";
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (-1, $"apt-get could not be started: {e.Message}");
        }
        using (process)
        {
            var output = process.StandardOutput.ReadToEndAsync();
            var error = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(AptTimeout);
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                return (-1, $"apt-get {arguments} did not finish within {AptTimeout}");
            }
            var text = (await output) + (await error);
            // The tail is where apt says why.
            return (process.ExitCode, text.Length > 4000 ? text[^4000..] : text);
        }
    }
}
