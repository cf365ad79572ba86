using System.Globalization;
using System.Text.Json.Serialization;
using TrainedModelsOrleans.Grains.Models.Parsing;

namespace TrainedModelsOrleans.Grains.Deployments;

public enum TimeValueUnit { Nanoseconds, Microseconds, Milliseconds, Seconds, Minutes, Hours, Days }

/// <summary>
/// Elasticsearch's TimeValue (libs/core TimeValue.java): a duration in the unit it was written in,
/// parsed and printed with ES's rules and texts.
/// </summary>
public readonly record struct TimeValue(
    [property: JsonPropertyName("duration")] long Duration,
    [property: JsonPropertyName("unit")] TimeValueUnit Unit)
{
    public static readonly TimeValue MinusOne = new(-1, TimeValueUnit.Milliseconds);
    public static readonly TimeValue Zero = new(0, TimeValueUnit.Milliseconds);

    public static TimeValue FromSeconds(long seconds) => new(seconds, TimeValueUnit.Seconds);

    /// <summary>Nanoseconds, saturated as Java's TimeUnit.toNanos saturates.</summary>
    [JsonIgnore]
    public long Nanos
    {
        get
        {
            var factor = NanosPer(Unit);
            if (Duration > long.MaxValue / factor) return long.MaxValue;
            if (Duration < long.MinValue / factor) return long.MinValue;
            return Duration * factor;
        }
    }

    /// <summary>The duration for timers; negative values (ES's -1) come back as <see cref="Timeout.InfiniteTimeSpan"/>.</summary>
    public TimeSpan ToTimeSpan() => Duration < 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromTicks(Nanos / 100);

    /// <summary>TimeValue.getStringRep: the value as written, e.g. <c>30s</c>, <c>500ms</c>, <c>-1</c>.</summary>
    [JsonIgnore]
    public string StringRep => Duration < 0
        ? Duration.ToString(CultureInfo.InvariantCulture)
        : Duration.ToString(CultureInfo.InvariantCulture) + Suffix(Unit);

    /// <summary>TimeValue.toString (toHumanReadableString(1)): the largest unit, one decimal cut off, e.g. 90s → <c>1.5m</c>.</summary>
    public override string ToString()
    {
        if (Duration < 0) return Duration.ToString(CultureInfo.InvariantCulture);
        var nanos = Nanos;
        if (nanos == 0) return "0s";
        (double value, string suffix) = nanos switch
        {
            >= Day => (nanos / (double)Day, "d"),
            >= Hour => (nanos / (double)Hour, "h"),
            >= Minute => (nanos / (double)Minute, "m"),
            >= Second => (nanos / (double)Second, "s"),
            >= Milli => (nanos / (double)Milli, "ms"),
            >= Micro => (nanos / (double)Micro, "micros"),
            _ => (nanos, "nanos"),
        };
        return FormatOneDecimal(value) + suffix;
    }

    /// <summary>
    /// TimeValue.parseTimeValue. Throws 400 <c>illegal_argument_exception</c> with ES's texts:
    /// "failed to parse setting [x] with value [v] as a time value: unit is missing or unrecognized",
    /// "... negative durations are not supported", "failed to parse [v], fractional time values are not supported".
    /// </summary>
    public static TimeValue Parse(string value, string settingName)
    {
        var normalized = value.ToLowerInvariant().Trim();
        if (normalized.EndsWith("nanos", StringComparison.Ordinal)) return new(ParseNumber(value, normalized, "nanos", settingName), TimeValueUnit.Nanoseconds);
        if (normalized.EndsWith("micros", StringComparison.Ordinal)) return new(ParseNumber(value, normalized, "micros", settingName), TimeValueUnit.Microseconds);
        if (normalized.EndsWith("ms", StringComparison.Ordinal)) return new(ParseNumber(value, normalized, "ms", settingName), TimeValueUnit.Milliseconds);
        if (normalized.EndsWith('s')) return new(ParseNumber(value, normalized, "s", settingName), TimeValueUnit.Seconds);
        // ES: minutes are case-sensitive, 'M' would mean months.
        if (value.EndsWith('m')) return new(ParseNumber(value, normalized, "m", settingName), TimeValueUnit.Minutes);
        if (normalized.EndsWith('h')) return new(ParseNumber(value, normalized, "h", settingName), TimeValueUnit.Hours);
        if (normalized.EndsWith('d')) return new(ParseNumber(value, normalized, "d", settingName), TimeValueUnit.Days);
        if (IsMinusOne(normalized)) return MinusOne;
        if (normalized.Length > 0 && normalized.All(c => c == '0')) return Zero;
        throw EsErrors.IllegalArgument(
            $"failed to parse setting [{settingName}] with value [{value}] as a time value: unit is missing or unrecognized");
    }

    private static bool IsMinusOne(string s) => s.Length >= 2 && s[0] == '-' && s[^1] == '1' && s[1..^1].All(c => c == '0');

    private static long ParseNumber(string initial, string normalized, string suffix, string settingName)
    {
        var number = normalized[..^suffix.Length].Trim();
        if (JavaNumbers.TryParseLong(number, out var parsed))
        {
            if (parsed < -1)
                throw EsErrors.IllegalArgument(
                    $"failed to parse setting [{settingName}] with value [{initial}] as a time value: negative durations are not supported");
            return parsed;
        }
        if (double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
            throw EsErrors.IllegalArgument($"failed to parse [{initial}], fractional time values are not supported");
        throw EsErrors.IllegalArgument($"failed to parse [{initial}]");
    }

    private const long Micro = 1_000L, Milli = 1_000_000L, Second = 1_000_000_000L, Minute = 60 * Second, Hour = 60 * Minute, Day = 24 * Hour;

    private static long NanosPer(TimeValueUnit unit) => unit switch
    {
        TimeValueUnit.Nanoseconds => 1,
        TimeValueUnit.Microseconds => Micro,
        TimeValueUnit.Milliseconds => Milli,
        TimeValueUnit.Seconds => Second,
        TimeValueUnit.Minutes => Minute,
        TimeValueUnit.Hours => Hour,
        _ => Day,
    };

    private static string Suffix(TimeValueUnit unit) => unit switch
    {
        TimeValueUnit.Nanoseconds => "nanos",
        TimeValueUnit.Microseconds => "micros",
        TimeValueUnit.Milliseconds => "ms",
        TimeValueUnit.Seconds => "s",
        TimeValueUnit.Minutes => "m",
        TimeValueUnit.Hours => "h",
        _ => "d",
    };

    // TimeValue.formatDecimal with one fraction piece: cut (not round) after the first decimal, drop a zero fraction.
    private static string FormatOneDecimal(double value)
    {
        var text = EsErrors.JavaDouble(value);
        var dot = text.IndexOf('.');
        if (dot < 0 || dot + 1 >= text.Length || text[dot + 1] == '0') return dot < 0 ? text : text[..dot];
        return text[..(dot + 2)];
    }
}
