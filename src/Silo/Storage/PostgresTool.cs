using System.Diagnostics;
using System.Runtime.Versioning;
using Microsoft.Extensions.Logging;

namespace TrainedModelsOrleans.Silo.Storage;

/// <summary>What a PostgreSQL command-line tool printed and how it exited.</summary>
internal sealed record PostgresToolResult(int ExitCode, string Output)
{
    public bool Succeeded => ExitCode == 0;
}

/// <summary>Runs initdb / pg_ctl as the cluster owner, with a time limit.</summary>
[UnsupportedOSPlatform("windows")]
internal static class PostgresTool
{
    public static async Task<PostgresToolResult> RunAsync(
        string? binDirectory, string tool, IReadOnlyList<string> arguments, TimeSpan timeout, ILogger logger, CancellationToken ct)
    {
        var executable = binDirectory is null ? tool : Path.Combine(binDirectory, tool);
        var start = new ProcessStartInfo
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            // The postgres account may not be able to read our current directory.
            WorkingDirectory = "/",
        };
        if (ClusterOwner.IsRoot)
        {
            start.FileName = "runuser";
            foreach (var a in new[] { "-u", ClusterOwner.ServiceAccount, "--", executable }) start.ArgumentList.Add(a);
        }
        else
        {
            start.FileName = executable;
        }
        foreach (var a in arguments) start.ArgumentList.Add(a);
        // Messages are matched (port in use) and quoted in exceptions: keep them untranslated.
        start.Environment["LC_MESSAGES"] = "C";

        var commandLine = string.Join(' ', start.ArgumentList.Prepend(start.FileName));
        logger.LogDebug("Running {CommandLine}", commandLine);

        using var process = new Process { StartInfo = start };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException(
                $"Could not run '{start.FileName}' ({e.Message}). PostgreSQL 15 binaries (initdb, pg_ctl, postgres) must be on PATH " +
                "or EmbeddedPostgresOptions.BinDirectory must point at them.", e);
        }
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);

        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(limit.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            try { process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { /* already gone */ }
            ct.ThrowIfCancellationRequested();
            throw new TimeoutException($"'{commandLine}' did not finish within {timeout.TotalSeconds:0} s.");
        }

        var output = ((await stdout.ConfigureAwait(false)) + (await stderr.ConfigureAwait(false))).Trim();
        logger.LogDebug("{Tool} exited with {ExitCode}: {Output}", tool, process.ExitCode, output);
        return new PostgresToolResult(process.ExitCode, output);
    }
}
