using System.Diagnostics;
using System.Globalization;
using Spectre.Console;

namespace TrainedModelsOrleans.Cli.Upload;

/// <summary>What the upload is about to send: the whole definition, and what the service already had.</summary>
public sealed record UploadTotals(long TotalBytes, int TotalParts, long StoredBytes, int StoredParts);

/// <summary>Tells the user how the parts go, as a live bar on a terminal or as lines otherwise.</summary>
public interface IUploadProgress
{
    /// <summary>Runs <paramref name="upload"/> while showing its progress; <paramref name="upload"/> reports each part to the tracker.</summary>
    Task RunAsync(UploadTotals totals, Func<IPartTracker, Task> upload);
}

public interface IPartTracker
{
    void PartStored(int part, long bytes);
    void Retrying(int part, RetryNotice notice);
}

/// <summary>The counts and rate both displays show.</summary>
internal sealed class PartCounts(UploadTotals totals)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public int Parts { get; private set; } = totals.StoredParts;
    public long Bytes { get; private set; } = totals.StoredBytes;
    public long BytesThisRun { get; private set; }

    public void Add(long bytes)
    {
        Parts++;
        Bytes += bytes;
        BytesThisRun += bytes;
    }

    /// <summary>Bytes a second sent by this run (parts stored before it do not count).</summary>
    public double Rate => BytesThisRun / Math.Max(_clock.Elapsed.TotalSeconds, 0.001);

    public static string Size(double bytes) => bytes switch
    {
        >= 1 << 30 => (bytes / (1 << 30)).ToString("0.0", CultureInfo.InvariantCulture) + " GiB",
        >= 1 << 20 => (bytes / (1 << 20)).ToString("0.0", CultureInfo.InvariantCulture) + " MiB",
        >= 1 << 10 => (bytes / (1 << 10)).ToString("0.0", CultureInfo.InvariantCulture) + " KiB",
        _ => bytes.ToString("0", CultureInfo.InvariantCulture) + " B",
    };
}

/// <summary>One line per part, for logs and pipes (stdout is not a terminal).</summary>
public sealed class LineUploadProgress(TextWriter output) : IUploadProgress
{
    public async Task RunAsync(UploadTotals totals, Func<IPartTracker, Task> upload) => await upload(new Tracker(output, totals));

    private sealed class Tracker(TextWriter output, UploadTotals totals) : IPartTracker
    {
        private readonly PartCounts _counts = new(totals);

        public void PartStored(int part, long bytes)
        {
            _counts.Add(bytes);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"part {part} stored: {_counts.Parts}/{totals.TotalParts} parts, {PartCounts.Size(_counts.Bytes)} of {PartCounts.Size(totals.TotalBytes)}, {PartCounts.Size(_counts.Rate)}/s"));
        }

        public void Retrying(int part, RetryNotice notice) =>
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"part {part} attempt {notice.FailedAttempt} failed ({notice.Why}); retrying in {notice.Delay.TotalSeconds:0.###} s"));
    }
}

/// <summary>Spectre.Console's progress bar: bytes, parts, rate and time left, redrawn in place.</summary>
public sealed class BarUploadProgress(IAnsiConsole console) : IUploadProgress
{
    public Task RunAsync(UploadTotals totals, Func<IPartTracker, Task> upload) =>
        console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(),
                new TransferSpeedColumn(), new RemainingTimeColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask(Description(totals.StoredParts, totals.TotalParts), maxValue: totals.TotalBytes);
                task.Value = totals.StoredBytes;
                await upload(new Tracker(console, task, totals));
                task.StopTask();
            });

    private static string Description(int parts, int total) => $"parts {parts}/{total}";

    private sealed class Tracker(IAnsiConsole console, ProgressTask task, UploadTotals totals) : IPartTracker
    {
        private readonly PartCounts _counts = new(totals);

        public void PartStored(int part, long bytes)
        {
            _counts.Add(bytes);
            task.Increment(bytes);
            task.Description = Description(_counts.Parts, totals.TotalParts);
        }

        public void Retrying(int part, RetryNotice notice) =>
            console.MarkupLineInterpolated(
                $"[yellow]part {part} attempt {notice.FailedAttempt} failed ({notice.Why}); retrying in {notice.Delay.TotalSeconds:0.###} s[/]");
    }
}
