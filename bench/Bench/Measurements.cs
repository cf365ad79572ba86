using System.Diagnostics;

namespace TrainedModelsOrleans.Bench;

/// <summary>Latency samples in Stopwatch ticks, summarised as percentiles in microseconds.</summary>
public sealed class LatencySamples(int capacity)
{
    private readonly long[] _ticks = new long[capacity];
    private int _count;

    public void Add(long ticks)
    {
        if (_count < _ticks.Length) _ticks[_count++] = ticks;
    }

    public double PercentileMicros(double p)
    {
        if (_count == 0) return double.NaN;
        var sorted = _ticks[.._count];
        Array.Sort(sorted);
        var index = Math.Clamp((int)Math.Ceiling(p * _count) - 1, 0, _count - 1);
        return sorted[index] * 1_000_000.0 / Stopwatch.Frequency;
    }

    public int Count => _count;
}

/// <summary>The table every benchmark prints.</summary>
public sealed class ResultTable(string title)
{
    private readonly List<string[]> _rows = new();
    private string[] _header = [];

    public ResultTable Columns(params string[] header)
    {
        _header = header;
        return this;
    }

    public void Row(params object[] cells) => _rows.Add(cells.Select(Format).ToArray());

    public void Print(TextWriter output)
    {
        var widths = _header.Select((h, i) => Math.Max(h.Length, _rows.Select(r => r[i].Length).DefaultIfEmpty(0).Max())).ToArray();
        output.WriteLine();
        output.WriteLine($"## {title}");
        output.WriteLine();
        output.WriteLine("| " + string.Join(" | ", _header.Select((h, i) => h.PadRight(widths[i]))) + " |");
        output.WriteLine("|" + string.Join("|", widths.Select(w => new string('-', w + 2))) + "|");
        foreach (var row in _rows)
            output.WriteLine("| " + string.Join(" | ", row.Select((c, i) => i == 0 ? c.PadRight(widths[i]) : c.PadLeft(widths[i]))) + " |");
    }

    private static string Format(object cell) => cell switch
    {
        double d when double.IsNaN(d) => "-",
        double d when d >= 1000 => d.ToString("N0", System.Globalization.CultureInfo.InvariantCulture),
        double d => d.ToString("0.0##", System.Globalization.CultureInfo.InvariantCulture),
        long l => l.ToString("N0", System.Globalization.CultureInfo.InvariantCulture),
        int i => i.ToString("N0", System.Globalization.CultureInfo.InvariantCulture),
        _ => cell.ToString() ?? "",
    };
}

/// <summary>
/// Callers loop over their targets until the time is up. With one caller every call is timed; with more,
/// every 16th (timing every call under contention perturbs the result).
/// </summary>
public static class LoadLoop
{
    /// <param name="Count">Calls completed.</param>
    /// <param name="AllocatedBytes">Bytes the whole process allocated meanwhile (every thread: the callers and the node).</param>
    public sealed record Run(double Rate, LatencySamples Samples, long Count, long AllocatedBytes)
    {
        public double P50 => Samples.PercentileMicros(0.5);
        public double P99 => Samples.PercentileMicros(0.99);
    }

    public static async Task<Run> RunAsync(Func<Task>[] targets, int callers, TimeSpan duration, int maxSamples = 2_000_000)
    {
        var every = callers == 1 ? 1 : 16;
        var samples = new LatencySamples(maxSamples);
        var sampleLock = new object();
        var counts = new long[callers];
        var allocated = GC.GetTotalAllocatedBytes();
        var clock = Stopwatch.StartNew();
        var tasks = Enumerable.Range(0, callers).Select(c => Task.Run(async () =>
        {
            var target = targets[c % targets.Length];
            long n = 0;
            while (clock.Elapsed < duration && (callers > 1 || n < maxSamples))
            {
                if (n % every == 0)
                {
                    var start = Stopwatch.GetTimestamp();
                    await target();
                    var elapsed = Stopwatch.GetTimestamp() - start;
                    lock (sampleLock) samples.Add(elapsed);
                }
                else
                {
                    await target();
                }
                n++;
            }
            counts[c] = n;
        })).ToArray();
        await Task.WhenAll(tasks);
        return new Run(counts.Sum() / clock.Elapsed.TotalSeconds, samples, counts.Sum(), GC.GetTotalAllocatedBytes() - allocated);
    }
}

/// <summary>The HTTP steps the benchmarks share: upload an ONNX model as ES's trained model API takes it.</summary>
public static class BenchHttp
{
    /// <summary>Polls GET / until a node process answers 2xx; fails at once if the process exits, and after the bound.</summary>
    public static async Task WaitUntilAnsweringAsync(Uri baseAddress, BenchProcess process, TimeSpan bound)
    {
        using var http = BenchSecurity.Client(baseAddress, TimeSpan.FromSeconds(2));
        var deadline = System.Diagnostics.Stopwatch.GetTimestamp() + (long)(bound.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);
        while (System.Diagnostics.Stopwatch.GetTimestamp() < deadline)
        {
            if (process.HasExited) throw new InvalidOperationException($"{process.Name} exited with {process.ExitCode} before answering\n{process.OutputTail()}");
            try
            {
                using var response = await http.GetAsync("/");
                if (response.IsSuccessStatusCode) return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException) { }
            await Task.Delay(100);
        }
        throw new TimeoutException($"{process.Name} did not answer on {baseAddress} within {bound.TotalSeconds:0} s\n{process.OutputTail()}");
    }

    public static async Task EnsureAsync(HttpResponseMessage response)
    {
        if (!response.IsSuccessStatusCode)
            throw new InvalidOperationException($"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.PathAndQuery}: {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }

    public static Task UploadAsync(HttpClient http, string id, byte[] definition) =>
        UploadAsync(http, id, new System.Text.Json.Nodes.JsonObject
        {
            ["model_type"] = "onnx",
            ["inference_config"] = new System.Text.Json.Nodes.JsonObject { ["pass_through"] = new System.Text.Json.Nodes.JsonObject() },
            ["input"] = new System.Text.Json.Nodes.JsonObject { ["field_names"] = new System.Text.Json.Nodes.JsonArray("input") },
        }, definition, ElandPartBytes);

    /// <summary>Eland's part size; one part of a large model would pass ES's 50,000,000-character string limit once in base64.</summary>
    public const int ElandPartBytes = 4 << 20;

    /// <summary>PUT the config, then the definition in base64 parts of <paramref name="partBytes"/> (Eland sends 4 MiB).</summary>
    public static async Task UploadAsync(HttpClient http, string id, System.Text.Json.Nodes.JsonObject config, byte[] definition, int partBytes)
    {
        await EnsureAsync(await System.Net.Http.Json.HttpClientJsonExtensions.PutAsJsonAsync(http, $"/_ml/trained_models/{id}", config));
        var parts = Math.Max(1, (definition.Length + partBytes - 1) / partBytes);
        for (var i = 0; i < parts; i++)
        {
            var slice = definition.AsSpan(i * partBytes, Math.Min(partBytes, definition.Length - (i * partBytes)));
            await EnsureAsync(await System.Net.Http.Json.HttpClientJsonExtensions.PutAsJsonAsync(http, $"/_ml/trained_models/{id}/definition/{i}", new
            {
                definition = Convert.ToBase64String(slice),
                total_definition_length = definition.Length,
                total_parts = parts,
            }));
        }
    }
}
