using System.Globalization;
using System.Numerics;
using System.Text.RegularExpressions;
using TrainedModelsOrleans.Grains.Assignment.Planning;
using TrainedModelsOrleans.Grains.Models.Parsing;

namespace TrainedModelsOrleans.Grains.Deployments;

public enum ByteSizeUnit { Bytes, Kb, Mb, Gb, Tb, Pb }

/// <summary>
/// Elasticsearch's ByteSizeValue (server/.../common/unit/ByteSizeValue.java): a size in bytes and
/// the unit it was written in, parsed with ES's rules and texts.
/// </summary>
public readonly partial record struct ByteSize(long Bytes, ByteSizeUnit Unit)
{
    public static readonly ByteSize Zero = new(0, ByteSizeUnit.Bytes);
    public static readonly ByteSize MinusOne = new(-1, ByteSizeUnit.Bytes);

    public static ByteSize OfBytes(long bytes) => new(bytes, ByteSizeUnit.Bytes);

    /// <summary>
    /// ByteSizeValue.getStringRep, the form ES echoes in task_parameters.cache_size:
    /// <c>0</c> for zero, <c>10kb</c> when whole units, otherwise the bytes with <c>b</c>.
    /// </summary>
    public string StringRep
    {
        get
        {
            if (Bytes <= 0) return Bytes.ToString(CultureInfo.InvariantCulture);
            var unitBytes = BytesPer(Unit);
            return Bytes % unitBytes == 0
                ? (Bytes / unitBytes).ToString(CultureInfo.InvariantCulture) + Suffix(Unit)
                : Bytes.ToString(CultureInfo.InvariantCulture) + "b";
        }
    }

    /// <summary>ByteSizeValue.toString, the form the stats API prints (<c>1.5kb</c>).</summary>
    public override string ToString() => ByteSizeText.Format(Bytes);

    /// <summary>
    /// ByteSizeValue.parseBytesSizeValue. Units are required except for <c>0</c> and <c>-1</c>; up to two
    /// decimals are taken and rounded up to whole bytes. Throws 400 <c>parse_exception</c> with ES's texts,
    /// e.g. "failed to parse setting [cache_size] with value [10] as a size in bytes: unit is missing or unrecognized".
    /// </summary>
    public static ByteSize Parse(string value, string settingName)
    {
        switch (value)
        {
            case "0" or "0b" or "0B": return Zero;
            case "1b" or "1B": return new(1, ByteSizeUnit.Bytes);
            case "-1" or "-1b" or "-1B": return MinusOne;
        }
        var lower = value.ToLowerInvariant().Trim();
        foreach (var (suffix, unit) in Suffixes)
            if (lower.EndsWith(suffix, StringComparison.Ordinal))
                return ParseWithUnit(value, lower, suffix, unit, settingName);
        if (lower.EndsWith('b')) return ParseBytes(value, lower, settingName);
        throw EsErrors.Parse(
            $"failed to parse setting [{settingName}] with value [{value}] as a size in bytes: unit is missing or unrecognized");
    }

    // Checked in ES's order: "k" before "kb" and so on, then a bare "b".
    private static readonly (string Suffix, ByteSizeUnit Unit)[] Suffixes =
    [
        ("k", ByteSizeUnit.Kb), ("kb", ByteSizeUnit.Kb), ("m", ByteSizeUnit.Mb), ("mb", ByteSizeUnit.Mb),
        ("g", ByteSizeUnit.Gb), ("gb", ByteSizeUnit.Gb), ("t", ByteSizeUnit.Tb), ("tb", ByteSizeUnit.Tb),
        ("p", ByteSizeUnit.Pb), ("pb", ByteSizeUnit.Pb),
    ];

    private static ByteSize ParseBytes(string initial, string lower, string settingName)
    {
        var number = lower[..^1].Trim();
        if (!JavaNumbers.TryParseLong(number, out var bytes))
            throw EsErrors.Parse($"failed to parse setting [{settingName}] with value [{initial}]");
        if (bytes < -1)
            throw EsErrors.Parse($"failed to parse setting [{settingName}] with value [{initial}] as a size in bytes");
        return new(bytes, ByteSizeUnit.Bytes);
    }

    private static ByteSize ParseWithUnit(string initial, string lower, string suffix, ByteSizeUnit unit, string settingName)
    {
        var number = lower[..^suffix.Length].Trim();
        var unitBytes = BytesPer(unit);
        if (JavaNumbers.TryParseLong(number, out var size))
        {
            // ByteSizeValue.of: below -1, -1 of a unit, or beyond Long.MAX_VALUE bytes.
            if (size < 0 || size > long.MaxValue / unitBytes)
                throw EsErrors.Parse($"failed to parse setting [{settingName}] with value [{initial}] as a size in bytes");
            return new(size * unitBytes, unit);
        }

        // Not an integer: a decimal (BigDecimal) with at most two decimals, rounded up to whole bytes.
        var match = DecimalPattern().Match(number);
        if (!match.Success || number.StartsWith('-') || match.Groups["int"].Length + match.Groups["frac"].Length == 0)
            throw EsErrors.Parse($"failed to parse setting [{settingName}] with value [{initial}]");
        var integral = match.Groups["int"].Value;
        var fraction = match.Groups["frac"].Value;
        var exponent = match.Groups["exp"].Success ? int.Parse(match.Groups["exp"].Value, CultureInfo.InvariantCulture) : 0;
        var scale = fraction.Length - exponent;
        if (scale > 2)
            throw EsErrors.Parse($"failed to parse setting [{settingName}] with more than two decimals in value [{initial}]");
        var unscaled = BigInteger.Parse("0" + integral + fraction, CultureInfo.InvariantCulture) * unitBytes;
        var bytes = scale >= 0
            ? BigInteger.DivRem(unscaled, BigInteger.Pow(10, scale), out var rest) + (rest.IsZero ? 0 : 1)
            : unscaled * BigInteger.Pow(10, -scale);
        if (bytes > long.MaxValue)
            throw EsErrors.Parse($"failed to parse setting [{settingName}] with value beyond {long.MaxValue}: [{initial}]");
        return new((long)bytes, unit);
    }

    [GeneratedRegex(@"^\+?(?<int>\d*)(?:\.(?<frac>\d*))?(?:[eE](?<exp>[+-]?\d{1,9}))?\z", RegexOptions.CultureInvariant)]
    private static partial Regex DecimalPattern();

    private static long BytesPer(ByteSizeUnit unit) => unit switch
    {
        ByteSizeUnit.Bytes => 1L,
        ByteSizeUnit.Kb => 1L << 10,
        ByteSizeUnit.Mb => 1L << 20,
        ByteSizeUnit.Gb => 1L << 30,
        ByteSizeUnit.Tb => 1L << 40,
        _ => 1L << 50,
    };

    private static string Suffix(ByteSizeUnit unit) => unit switch
    {
        ByteSizeUnit.Bytes => "b",
        ByteSizeUnit.Kb => "kb",
        ByteSizeUnit.Mb => "mb",
        ByteSizeUnit.Gb => "gb",
        ByteSizeUnit.Tb => "tb",
        _ => "pb",
    };
}
