using System.Globalization;
using System.Numerics;
using System.Text;
using TrainedModelsOrleans.Api.Http;
using Xunit;

namespace TrainedModelsOrleans.Api.Tests;

/// <summary>
/// JsonNumbers (csFastFloat behind a check of JSON's number form) may decline any number, but a number it accepts
/// must be bit for bit what float.Parse / double.Parse give. Random texts (fixed seeds, so a failure repeats) check that over many shapes of numbers; the float
/// midpoint cases are the ones where rounding through a double goes wrong.
/// </summary>
public sealed class JsonNumbersTests
{
    private const int CasesPerProperty = 100_000;

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    private static float ExpectedSingle(string text) => float.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);

    private static double ExpectedDouble(string text) => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);

    /// <summary>Fails when the fast path accepts <paramref name="text"/> with another value than float.Parse; says whether it accepted.</summary>
    private static bool AssertSingleExactOrDeclined(string text)
    {
        if (!JsonNumbers.TryParseSingle(Utf8(text), out var value)) return false;
        var expected = ExpectedSingle(text);
        Assert.True(BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(value),
            $"\"{text}\": fast path {value:R} (0x{BitConverter.SingleToInt32Bits(value):X8}), float.Parse {expected:R} (0x{BitConverter.SingleToInt32Bits(expected):X8})");
        return true;
    }

    private static bool AssertDoubleExactOrDeclined(string text)
    {
        if (!JsonNumbers.TryParseDouble(Utf8(text), out var value)) return false;
        var expected = ExpectedDouble(text);
        Assert.True(BitConverter.DoubleToInt64Bits(expected) == BitConverter.DoubleToInt64Bits(value),
            $"\"{text}\": fast path {value:R} (0x{BitConverter.DoubleToInt64Bits(value):X16}), double.Parse {expected:R} (0x{BitConverter.DoubleToInt64Bits(expected):X16})");
        return true;
    }

    /// <summary>.NET writes large and small values as 1.2345E-05; JSON allows that form, lower or upper case e.</summary>
    private static string Shortest(float value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static string Shortest(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    [Fact]
    public void Shortest_texts_of_random_floats_parse_exactly_or_are_declined()
    {
        var random = new Random(1);
        var accepted = 0;
        for (var i = 0; i < CasesPerProperty; i++)
        {
            // Half from all bit patterns, half from the range tensors live in.
            var value = i % 2 == 0
                ? BitConverter.Int32BitsToSingle(random.Next() ^ (random.Next(2) << 31))
                : (float)((random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-8, 9)));
            if (!float.IsFinite(value)) continue;
            if (AssertSingleExactOrDeclined(Shortest(value))) accepted++;
        }
        // The values of ordinary magnitude are nearly all short enough for the fast path.
        Assert.True(accepted > CasesPerProperty / 3, $"only {accepted} accepted");
    }

    [Fact]
    public void Shortest_texts_of_random_doubles_parse_exactly_or_are_declined()
    {
        var random = new Random(2);
        var accepted = 0;
        for (var i = 0; i < CasesPerProperty; i++)
        {
            var value = i % 2 == 0
                ? BitConverter.Int64BitsToDouble(random.NextInt64() ^ ((long)random.Next(2) << 63))
                : (random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-8, 9));
            if (!double.IsFinite(value)) continue;
            // Shortest double texts have up to 17 digits, and only those up to 2^53 are taken; rounding to fewer
            // digits gives the many short numbers of real requests.
            var text = i % 4 < 2 ? Shortest(value) : value.ToString("G" + random.Next(1, 16), CultureInfo.InvariantCulture);
            if (AssertDoubleExactOrDeclined(text)) accepted++;
            AssertSingleExactOrDeclined(text);
        }
        Assert.True(accepted > CasesPerProperty / 5, $"only {accepted} accepted");
    }

    /// <summary>A JSON number with 1..25 digits, the point anywhere (or absent), and an exponent of -60..60 or none.</summary>
    private static string RandomJsonNumber(Random random)
    {
        var digitCount = random.Next(1, 26);
        var digits = new StringBuilder();
        // Runs of zeros (leading, trailing and inside) are where digit counting goes wrong.
        var zeroChance = random.Next(0, 3) * 0.3;
        for (var i = 0; i < digitCount; i++)
            digits.Append(random.NextDouble() < zeroChance ? '0' : (char)('0' + random.Next(10)));

        var integerDigits = random.Next(1, digitCount + 1);
        var integerPart = digits.ToString(0, integerDigits).TrimStart('0');
        if (integerPart.Length == 0) integerPart = "0";
        var text = new StringBuilder();
        if (random.Next(2) == 0) text.Append('-');
        text.Append(integerPart);
        if (integerDigits < digitCount) text.Append('.').Append(digits.ToString(integerDigits, digitCount - integerDigits));
        switch (random.Next(4))
        {
            case 0: break;
            case 1: text.Append('e').Append(random.Next(-60, 61)); break;
            case 2: text.Append('E').Append(random.Next(-60, 61)); break;
            default: text.Append("e+").Append(random.Next(0, 61)); break;
        }
        return text.ToString();
    }

    [Fact]
    public void Random_json_numbers_parse_exactly_as_floats_or_are_declined()
    {
        var random = new Random(3);
        var accepted = 0;
        for (var i = 0; i < CasesPerProperty; i++)
            if (AssertSingleExactOrDeclined(RandomJsonNumber(random))) accepted++;
        Assert.True(accepted > CasesPerProperty / 10, $"only {accepted} accepted");
    }

    [Fact]
    public void Random_json_numbers_parse_exactly_as_doubles_or_are_declined()
    {
        var random = new Random(4);
        var accepted = 0;
        for (var i = 0; i < CasesPerProperty; i++)
            if (AssertDoubleExactOrDeclined(RandomJsonNumber(random))) accepted++;
        Assert.True(accepted > CasesPerProperty / 10, $"only {accepted} accepted");
    }

    /// <summary>
    /// The exact midpoint between a float and the next one up, as a plain decimal (a midpoint is a dyadic rational,
    /// so its decimal expansion ends).
    /// </summary>
    private static string ExactDecimal(double midpoint)
    {
        var bits = BitConverter.DoubleToInt64Bits(midpoint);
        var mantissa = (bits & ((1L << 52) - 1)) | (1L << 52);
        var binaryExponent = (int)((bits >> 52) & 0x7FF) - 1075;
        if (binaryExponent >= 0) return (new BigInteger(mantissa) << binaryExponent).ToString(CultureInfo.InvariantCulture);
        // m * 2^-k = m * 5^k / 10^k.
        var scaled = (new BigInteger(mantissa) * BigInteger.Pow(5, -binaryExponent)).ToString(CultureInfo.InvariantCulture)
            .PadLeft(-binaryExponent + 1, '0');
        return (scaled[..^-binaryExponent] + "." + scaled[^-binaryExponent..]).TrimEnd('0').TrimEnd('.');
    }

    [Fact]
    public void Float_midpoints_and_texts_next_to_them_parse_exactly_or_are_declined()
    {
        var random = new Random(5);
        for (var i = 0; i < CasesPerProperty / 4; i++)
        {
            // Floats from 2^-20 to 2^60: their midpoints have few enough digits, or a short text that a double
            // reads as the midpoint though the decimal lies to one side of it.
            var lower = (float)Math.ScaleB(1 + random.NextDouble(), random.Next(-20, 61));
            var upper = MathF.BitIncrement(lower);
            var midpoint = ((double)lower + upper) / 2;

            var exact = ExactDecimal(midpoint);
            // Ties go to the float with the even last bit: check the construction, then the fast path.
            var even = (BitConverter.SingleToInt32Bits(lower) & 1) == 0 ? lower : upper;
            Assert.Equal(even, ExpectedSingle(exact));
            AssertSingleExactOrDeclined(exact);
            AssertSingleExactOrDeclined("-" + exact);

            // The shortest text that reads back as the midpoint double is not the midpoint itself: rounding it to a
            // double and then to a float picks the even float, float.Parse the side the decimal lies on.
            AssertSingleExactOrDeclined(Shortest(midpoint));
            AssertSingleExactOrDeclined(midpoint.ToString("G16", CultureInfo.InvariantCulture));
        }
    }

    [Theory]
    [InlineData("0.12217117")]
    [InlineData("0.119145334")]
    [InlineData("-1.5")]
    [InlineData("3")]
    [InlineData("1e5")]
    [InlineData("0.5e-3")]
    [InlineData("-0.0003814697265625")]
    [InlineData("12345.678E+2")]
    [InlineData("0.000000123456789")]
    [InlineData("0.50000000000000000")]
    public void Common_numbers_take_the_fast_path(string text)
    {
        Assert.True(JsonNumbers.TryParseSingle(Utf8(text), out var single));
        Assert.Equal(BitConverter.SingleToInt32Bits(ExpectedSingle(text)), BitConverter.SingleToInt32Bits(single));
        Assert.True(JsonNumbers.TryParseDouble(Utf8(text), out var value));
        Assert.Equal(BitConverter.DoubleToInt64Bits(ExpectedDouble(text)), BitConverter.DoubleToInt64Bits(value));
    }

    [Theory]
    [InlineData("-0")]
    [InlineData("-0.0")]
    [InlineData("-0e5")]
    [InlineData("-0.000E-400")]
    public void Negative_zero_keeps_its_sign(string text)
    {
        Assert.True(JsonNumbers.TryParseSingle(Utf8(text), out var single));
        Assert.True(float.IsNegative(single) && single == 0, $"{single:R}");
        Assert.True(JsonNumbers.TryParseDouble(Utf8(text), out var value));
        Assert.True(double.IsNegative(value) && value == 0, $"{value:R}");
    }

    [Theory]
    [InlineData("0")]
    [InlineData("0.0")]
    [InlineData("0e-999999999999")]
    public void Positive_zero_is_positive(string text)
    {
        Assert.True(JsonNumbers.TryParseSingle(Utf8(text), out var single));
        Assert.Equal(0, BitConverter.SingleToInt32Bits(single));
        Assert.True(JsonNumbers.TryParseDouble(Utf8(text), out var value));
        Assert.Equal(0, BitConverter.DoubleToInt64Bits(value));
    }

    [Theory]
    [InlineData("1234567890123456789012345")]
    [InlineData("0.1234567890123456789012345")]
    [InlineData("1.234567890123456789012345e10")]
    [InlineData("9007199254740993")] // 2^53 + 1: halfway between two doubles
    [InlineData("16777217")] // 2^24 + 1: halfway between the floats 16777216 and 16777218
    [InlineData("16777219")] // halfway between 16777218 and 16777220: ties to 16777220
    [InlineData("33554434")] // halfway between 33554432 and 33554436
    [InlineData("1.00000005960464477539062")] // 1 + 2^-24 rounded to 24 digits: above the midpoint
    [InlineData("3.4028235e38")] // float.MaxValue
    [InlineData("3.4028236e38")] // above float.MaxValue: float.Parse says infinity
    [InlineData("1e39")]
    [InlineData("1e-39")] // a float subnormal
    [InlineData("1e23")]
    [InlineData("123e35")]
    [InlineData("1e-22")]
    [InlineData("1e-23")]
    [InlineData("179769313486231570000000000000000000000000000000000000000000000000e300")]
    public void Hard_numbers_parse_exactly_or_are_declined(string text)
    {
        AssertSingleExactOrDeclined(text);
        AssertSingleExactOrDeclined("-" + text);
        AssertDoubleExactOrDeclined(text);
        AssertDoubleExactOrDeclined("-" + text);
    }

    [Fact]
    public void Float_tie_at_two_to_the_24_plus_one_gives_the_even_float()
    {
        // Whichever way it goes, the answer must be float.Parse's 16777216.
        if (JsonNumbers.TryParseSingle("16777217"u8, out var value)) Assert.Equal(16777216f, value);
        Assert.Equal(16777216f, ExpectedSingle("16777217"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("-")]
    [InlineData("+1")]
    [InlineData("1.")]
    [InlineData(".5")]
    [InlineData("1e")]
    [InlineData("1e+")]
    [InlineData("1e-")]
    [InlineData(" 1")]
    [InlineData("1 ")]
    [InlineData("1.5f")]
    [InlineData("--1")]
    [InlineData("1..5")]
    [InlineData("0x10")]
    [InlineData("NaN")]
    [InlineData("Infinity")]
    [InlineData("-Infinity")]
    [InlineData("1,5")]
    [InlineData("12345678a")]
    [InlineData("1234567/")]
    [InlineData("0.1234567:")]
    public void Text_that_is_not_a_json_number_is_declined(string text)
    {
        Assert.False(JsonNumbers.TryParseSingle(Utf8(text), out _));
        Assert.False(JsonNumbers.TryParseDouble(Utf8(text), out _));
    }
}
