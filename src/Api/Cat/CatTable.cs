using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.Models;

namespace TrainedModelsOrleans.Api.Cat;

/// <summary>A _cat column: its name, aliases, description, whether it shows without <c>h</c>, and its alignment.</summary>
public sealed record CatColumn(string Name, string Description, bool ShownByDefault = true, bool RightAligned = false, params string[] Aliases);

/// <summary>
/// A _cat answer as Elasticsearch's Table and RestTable make it (server/.../common/Table.java,
/// rest/action/cat/RestTable.java, AbstractCatAction.java): <c>h</c> picks columns by name or alias (wildcards too;
/// unknown names are skipped), <c>s</c> sorts (<c>:asc</c>, <c>:desc</c>), <c>v</c> adds the header line,
/// <c>format</c> (or the Accept header) chooses json or yaml over text, <c>bytes</c> and <c>time</c> fix the units
/// of sizes and durations, and <c>help</c> lists the columns. Cells keep their types until rendered, so sorts compare
/// numbers, sizes and times as values. Text cells are padded to the column width; a column declared right-aligned
/// is padded on the left, as ES does (ES declares the alignment per column, not per value type).
/// </summary>
public sealed class CatTable(IReadOnlyList<CatColumn> columns)
{
    private readonly List<object?[]> _rows = new();

    public IReadOnlyList<CatColumn> Columns { get; } = columns;

    /// <summary>One row, a cell per column in order: string, long, <see cref="ByteSize"/>, <see cref="TimeValue"/>, <see cref="CatInstant"/> or null.</summary>
    public void AddRow(params object?[] cells)
    {
        if (cells.Length != Columns.Count)
            throw new InvalidOperationException($"mismatch on number of cells {cells.Length} in a row compared to header {Columns.Count}");
        _rows.Add(cells);
    }

    public Task WriteAsync(HttpContext context)
    {
        var request = context.Request;
        if (Flag(request, "help")) return WriteTextAsync(context, Help(request));
        var shown = Shown(request);
        var order = RowOrder(request);
        return Format(request) switch
        {
            "json" => WriteAsync(context, JsonMediaType(request), Json(request, shown, order)),
            "yaml" => WriteAsync(context, "application/yaml", Yaml(request, shown, order)),
            _ => WriteTextAsync(context, Text(request, shown, order)),
        };
    }

    /// <summary>The <c>format</c> parameter (XContentType.fromFormat), else the Accept header, else text.</summary>
    private static string Format(HttpRequest request)
    {
        if (request.Query.TryGetValue("format", out var format))
            return format.ToString().ToLowerInvariant() switch { "json" => "json", "yaml" => "yaml", _ => "text" };
        var accept = request.Headers.Accept.ToString();
        if (accept.Contains("json", StringComparison.OrdinalIgnoreCase)) return "json";
        if (accept.Contains("yaml", StringComparison.OrdinalIgnoreCase)) return "yaml";
        return "text";
    }

    private static string JsonMediaType(HttpRequest request) => Http.ElasticsearchJson.ContentTypeFor(request);

    private static bool Flag(HttpRequest request, string name) =>
        request.Query.TryGetValue(name, out var value) && value.ToString() is "" or "true";

    /// <summary>The displayed columns: (column index, the name shown, which is the alias when <c>h</c> named one).</summary>
    private List<(int Column, string Display)> Shown(HttpRequest request)
    {
        var shown = new List<(int, string)>();
        if (!request.Query.TryGetValue("h", out var h))
        {
            for (var i = 0; i < Columns.Count; i++)
                if (Columns[i].ShownByDefault) shown.Add((i, Columns[i].Name));
            return shown;
        }

        // RestTable.expandHeadersFromRequest: wildcards expand to column names (matched by name or alias), each once.
        var wanted = new List<string>();
        foreach (var item in SplitByComma(h.ToString()))
        {
            if (!item.Contains('*'))
            {
                if (!wanted.Contains(item)) wanted.Add(item);
                continue;
            }
            foreach (var column in Columns)
                if ((ModelIdPattern.SimpleMatch(item, column.Name) || column.Aliases.Any(a => ModelIdPattern.SimpleMatch(item, a))) && !wanted.Contains(column.Name))
                    wanted.Add(column.Name);
        }
        foreach (var name in wanted)
        {
            var byName = IndexOf(name);
            if (byName >= 0)
            {
                shown.Add((byName, name));
                continue;
            }
            for (var i = 0; i < Columns.Count; i++)
                if (Columns[i].Aliases.Contains(name))
                {
                    shown.Add((i, name));
                    break;
                }
        }
        return shown;
    }

    private int IndexOf(string name)
    {
        for (var i = 0; i < Columns.Count; i++)
            if (Columns[i].Name == name) return i;
        return -1;
    }

    /// <summary>RestTable.getRowOrder: a stable sort on the <c>s</c> columns; an unknown key fails as ES fails.</summary>
    private List<int> RowOrder(HttpRequest request)
    {
        var order = Enumerable.Range(0, _rows.Count).ToList();
        if (!request.Query.TryGetValue("s", out var s)) return order;
        var keys = new List<(int Column, bool Descending)>();
        foreach (var item in SplitByComma(s.ToString()))
        {
            var (name, descending) = item.EndsWith(":desc", StringComparison.Ordinal) ? (item[..^5], true)
                : item.EndsWith(":asc", StringComparison.Ordinal) ? (item[..^4], false)
                : (item, false);
            var column = IndexOf(name);
            if (column < 0)
                for (var i = 0; i < Columns.Count && column < 0; i++)
                    if (Columns[i].Aliases.Contains(name)) column = i;
            // ES's text, but ES answers this client error with a 500 (an UnsupportedOperationException): a 400 here, as
            // every refusal of bad input is a 4xx.
            if (column < 0)
                throw new Grains.Errors.ElasticsearchException(400, "unsupported_operation_exception",
                    $"Unable to sort by unknown sort key `{Grains.Errors.LoggedText.Of(name, 256)}`");
            keys.Add((column, descending));
        }
        // List.Sort is not stable; OrderBy is (Java's Collections.sort is stable too).
        return order.OrderBy(row => row, Comparer<int>.Create((a, b) =>
        {
            foreach (var (column, descending) in keys)
            {
                var comparison = CompareCells(_rows[a][column], _rows[b][column]);
                if (comparison != 0) return descending ? -comparison : comparison;
            }
            return 0;
        })).ToList();
    }

    /// <summary>TableIndexComparator.compareCell: nulls first, values of one type by value, anything else by text.</summary>
    private static int CompareCells(object? a, object? b) => (a, b) switch
    {
        (null, null) => 0,
        (null, _) => -1,
        (_, null) => 1,
        (long x, long y) => x.CompareTo(y),
        (ByteSize x, ByteSize y) => x.Bytes.CompareTo(y.Bytes),
        (TimeValue x, TimeValue y) => x.Nanos.CompareTo(y.Nanos),
        (CatInstant x, CatInstant y) => x.EpochMillis.CompareTo(y.EpochMillis),
        (string x, string y) => string.CompareOrdinal(x, y),
        _ => string.CompareOrdinal(a.ToString(), b.ToString()),
    };

    /// <summary>RestTable.renderValue: sizes in the <c>bytes</c> unit and times in the <c>time</c> unit when given.</summary>
    private static string? Render(HttpRequest request, object? value) => value switch
    {
        null => null,
        ByteSize size => request.Query["bytes"].ToString() switch
        {
            "b" => Invariant(size.Bytes),
            "k" or "kb" => Invariant(size.Bytes / (1L << 10)),
            "m" or "mb" => Invariant(size.Bytes / (1L << 20)),
            "g" or "gb" => Invariant(size.Bytes / (1L << 30)),
            "t" or "tb" => Invariant(size.Bytes / (1L << 40)),
            "p" or "pb" => Invariant(size.Bytes / (1L << 50)),
            _ => size.ToString(),
        },
        TimeValue time => request.Query["time"].ToString() switch
        {
            "nanos" => Invariant(time.Nanos),
            "micros" => Invariant(time.Nanos / 1_000),
            "ms" => Invariant(time.Nanos / 1_000_000),
            "s" => Invariant(time.Nanos / 1_000_000_000),
            "m" => Invariant(time.Nanos / 60_000_000_000),
            "h" => Invariant(time.Nanos / 3_600_000_000_000),
            "d" => Invariant(time.Nanos / 86_400_000_000_000),
            _ => time.ToString(),
        },
        long number => Invariant(number),
        _ => value.ToString(),
    };

    private static string Invariant(long value) => value.ToString(CultureInfo.InvariantCulture);

    private string Text(HttpRequest request, List<(int Column, string Display)> shown, List<int> order)
    {
        var verbose = Flag(request, "v");
        var rendered = order.Select(row => shown.Select(c => Render(request, _rows[row][c.Column])).ToArray()).ToList();
        var widths = new int[shown.Count];
        for (var i = 0; i < shown.Count; i++)
        {
            if (verbose) widths[i] = shown[i].Display.Length;
            foreach (var row in rendered) widths[i] = Math.Max(widths[i], row[i]?.Length ?? 0);
        }
        var text = new StringBuilder();
        if (verbose) AppendLine(text, shown.Select(c => c.Display).ToArray(), shown, widths);
        foreach (var row in rendered) AppendLine(text, row, shown, widths);
        return text.ToString();
    }

    /// <summary>RestTable.pad: cells separated by one space; the last column's left-aligned cells get no trailing spaces.</summary>
    private void AppendLine(StringBuilder text, string?[] cells, List<(int Column, string Display)> shown, int[] widths)
    {
        for (var i = 0; i < cells.Length; i++)
        {
            var last = i == cells.Length - 1;
            var value = cells[i] ?? "";
            var leftOver = widths[i] - value.Length;
            if (leftOver > 0 && Columns[shown[i].Column].RightAligned) text.Append(' ', leftOver).Append(value);
            else
            {
                text.Append(value);
                if (!last && leftOver > 0) text.Append(' ', leftOver);
            }
            if (!last) text.Append(' ');
        }
        text.Append('\n');
    }

    /// <summary>An array of objects keyed by the shown names; every value a string (or null), as ES renders them.</summary>
    private byte[] Json(HttpRequest request, List<(int Column, string Display)> shown, List<int> order)
    {
        using var buffer = new MemoryStream();
        var pretty = request.Query.TryGetValue("pretty", out var p) && p.ToString() != "false";
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = pretty }))
        {
            writer.WriteStartArray();
            foreach (var row in order)
            {
                writer.WriteStartObject();
                foreach (var (column, display) in shown)
                {
                    if (Render(request, _rows[row][column]) is { } value) writer.WriteString(display, value);
                    else writer.WriteNull(display);
                }
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
        }
        return buffer.ToArray();
    }

    /// <summary>The same array in YAML, as Jackson's YAML generator writes it (document marker, quoted strings).</summary>
    private byte[] Yaml(HttpRequest request, List<(int Column, string Display)> shown, List<int> order)
    {
        var yaml = new StringBuilder("---");
        if (order.Count == 0) yaml.Append(" []");
        yaml.Append('\n');
        foreach (var row in order)
        {
            var first = true;
            foreach (var (column, display) in shown)
            {
                yaml.Append(first ? "- " : "  ").Append(display).Append(": ");
                var value = Render(request, _rows[row][column]);
                yaml.Append(value is null ? "null" : JsonSerializer.Serialize(value)).Append('\n');
                first = false;
            }
        }
        return Encoding.UTF8.GetBytes(yaml.ToString());
    }

    /// <summary>AbstractCatAction's help: name | aliases | description, each padded to its column's width.</summary>
    private string Help(HttpRequest request)
    {
        var widths = new int[3];
        foreach (var column in Columns)
        {
            widths[0] = Math.Max(widths[0], column.Name.Length);
            widths[1] = Math.Max(widths[1], string.Join(",", column.Aliases).Length);
            widths[2] = Math.Max(widths[2], column.Description.Length);
        }
        var text = new StringBuilder();
        foreach (var column in Columns)
        {
            text.Append(column.Name.PadRight(widths[0])).Append(" | ")
                .Append(string.Join(",", column.Aliases).PadRight(widths[1])).Append(" | ")
                .Append(column.Description.PadRight(widths[2])).Append('\n');
        }
        return text.ToString();
    }

    private static Task WriteTextAsync(HttpContext context, string text) =>
        WriteAsync(context, "text/plain; charset=UTF-8", Encoding.UTF8.GetBytes(text));

    private static async Task WriteAsync(HttpContext context, string contentType, byte[] body)
    {
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = contentType;
        context.Response.ContentLength = body.Length;
        if (!HttpMethods.IsHead(context.Request.Method)) await context.Response.Body.WriteAsync(body, context.RequestAborted);
    }

    private static IEnumerable<string> SplitByComma(string value) =>
        value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
}

/// <summary>A point in time in a _cat cell: Java's Instant.toString (ISO-8601 UTC, fraction only when not zero).</summary>
public readonly record struct CatInstant(long EpochMillis)
{
    public override string ToString()
    {
        var time = DateTimeOffset.FromUnixTimeMilliseconds(EpochMillis).UtcDateTime;
        return time.ToString(time.Millisecond == 0 ? "yyyy-MM-dd'T'HH:mm:ss'Z'" : "yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
    }
}
