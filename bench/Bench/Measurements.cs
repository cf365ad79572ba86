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
