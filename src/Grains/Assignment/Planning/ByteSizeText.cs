using System.Globalization;

namespace TrainedModelsOrleans.Grains.Assignment.Planning;

/// <summary>Elasticsearch's ByteSizeValue.toString(): the largest binary unit ≥ 1, one decimal truncated, ".0" dropped.</summary>
public static class ByteSizeText
{
    private static readonly (long Unit, string Suffix)[] Units =
    [
        (1L << 50, "pb"), (1L << 40, "tb"), (1L << 30, "gb"), (1L << 20, "mb"), (1L << 10, "kb"),
    ];

    /// <summary>e.g. 251658240 → "240mb", 1536 → "1.5kb", 0 → "0b".</summary>
    public static string Format(long bytes)
    {
        foreach (var (unit, suffix) in Units)
            if (bytes >= unit)
                return OneDecimal(bytes / (double)unit) + suffix;
        return bytes.ToString(CultureInfo.InvariantCulture) + "b";
    }

    /// <summary>"&lt;bytes&gt; (&lt;human&gt;)", the way ES's reasons print a size.</summary>
    public static string WithBytes(long bytes) => $"{bytes.ToString(CultureInfo.InvariantCulture)} ({Format(bytes)})";

    // Strings.format1Decimals: cut (not round) the shortest round-trip text after its first decimal.
    private static string OneDecimal(double value)
    {
        var text = value.ToString("R", CultureInfo.InvariantCulture);
        var dot = text.IndexOf('.');
        if (dot < 0) return text;
        var firstDecimal = text[dot + 1];
        return firstDecimal == '0' ? text[..dot] : text[..(dot + 2)];
    }
}
