using TrainedModelsOrleans.Grains.Deployments;
using Xunit;

namespace TrainedModelsOrleans.ControlPlaneRules.Tests;

public class ValueParsingTests
{
    [Theory]
    [InlineData("30s", 30_000_000_000L, "30s", "30s")]
    [InlineData("500ms", 500_000_000L, "500ms", "500ms")]
    [InlineData("1m", 60_000_000_000L, "1m", "1m")]
    [InlineData("2h", 7_200_000_000_000L, "2h", "2h")]
    [InlineData("90s", 90_000_000_000L, "90s", "1.5m")]
    [InlineData("1500ms", 1_500_000_000L, "1500ms", "1.5s")]
    [InlineData("100micros", 100_000L, "100micros", "100micros")]
    [InlineData(" 5 S ", 5_000_000_000L, "5s", "5s")]
    [InlineData("0", 0L, "0ms", "0s")]
    [InlineData("-1", -1_000_000L, "-1", "-1")]
    public void Time_values_parse_and_print_as_es_does(string text, long nanos, string stringRep, string human)
    {
        var value = TimeValue.Parse(text, "timeout");
        Assert.Equal(nanos, value.Nanos);
        Assert.Equal(stringRep, value.StringRep);
        Assert.Equal(human, value.ToString());
    }

    [Theory]
    [InlineData("30", "failed to parse setting [timeout] with value [30] as a time value: unit is missing or unrecognized")]
    [InlineData("5M", "failed to parse setting [timeout] with value [5M] as a time value: unit is missing or unrecognized")]
    [InlineData("1.5s", "failed to parse [1.5s], fractional time values are not supported")]
    [InlineData("xs", "failed to parse [xs]")]
    [InlineData("-2s", "failed to parse setting [timeout] with value [-2s] as a time value: negative durations are not supported")]
    public void Bad_time_values_are_refused_with_es_texts(string text, string reason)
    {
        Expect.Error(() => TimeValue.Parse(text, "timeout"), 400, "illegal_argument_exception", reason);
    }

    [Theory]
    [InlineData("0", 0L, "0")]
    [InlineData("0b", 0L, "0")]
    [InlineData("10kb", 10_240L, "10kb")]
    [InlineData("10k", 10_240L, "10kb")]
    [InlineData("1mb", 1_048_576L, "1mb")]
    [InlineData("2GB", 2_147_483_648L, "2gb")]
    [InlineData("1630b", 1_630L, "1630b")]
    [InlineData("1.5kb", 1_536L, "1536b")]
    [InlineData("1.01kb", 1_035L, "1035b")]
    [InlineData("-1", -1L, "-1")]
    public void Byte_sizes_parse_and_echo_as_es_does(string text, long bytes, string stringRep)
    {
        var value = ByteSize.Parse(text, "cache_size");
        Assert.Equal(bytes, value.Bytes);
        Assert.Equal(stringRep, value.StringRep);
    }

    [Theory]
    [InlineData("1024", "failed to parse setting [cache_size] with value [1024] as a size in bytes: unit is missing or unrecognized")]
    [InlineData("xkb", "failed to parse setting [cache_size] with value [xkb]")]
    [InlineData("1.555kb", "failed to parse setting [cache_size] with more than two decimals in value [1.555kb]")]
    [InlineData("-5kb", "failed to parse setting [cache_size] with value [-5kb] as a size in bytes")]
    [InlineData("-2b", "failed to parse setting [cache_size] with value [-2b] as a size in bytes")]
    public void Bad_byte_sizes_are_refused_with_es_texts(string text, string reason)
    {
        Expect.Error(() => ByteSize.Parse(text, "cache_size"), 400, "parse_exception", reason);
    }

    [Fact]
    public void Byte_size_prints_like_the_stats_api()
    {
        Assert.Equal("1.5kb", ByteSize.OfBytes(1630).ToString());
        Assert.Equal("0b", ByteSize.Zero.ToString());
    }
}
