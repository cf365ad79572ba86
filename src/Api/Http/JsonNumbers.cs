using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace TrainedModelsOrleans.Api.Http;

/// <summary>
/// Fast reading of JSON number tokens as float or double, for the common short numbers a tensor body is made of
/// (Clinger's fast path: few enough digits and a small enough power of ten that one exact IEEE multiplication or
/// division gives the correctly rounded value). The answer is bit for bit what <c>float.Parse</c> /
/// <c>double.Parse</c> with the invariant culture gives; whenever that cannot be guaranteed cheaply (many digits,
/// a large exponent, a float whose double is exactly halfway between two floats, anything that is not a plain
/// JSON number), the methods say false and the caller uses the general parser. They never throw.
/// </summary>
public static class JsonNumbers
{
    // Beyond 19 decimal digits the mantissa could overflow a ulong; such numbers are rare in requests.
    private const int MaxSignificantDigits = 19;

    // Integers up to 2^53 are exact doubles, so (double)mantissa loses nothing.
    private const ulong MaxExactMantissa = 1UL << 53;

    // 10^22 is the largest power of ten that is an exact double (5^22 < 2^53).
    private const int MaxExactPowerOfTen = 22;

    private static ReadOnlySpan<double> ExactPowersOfTen =>
    [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ];

    // For moving spare powers of ten from a large exponent into the mantissa (exact in integers).
    private static ReadOnlySpan<ulong> IntegerPowersOfTen =>
    [
        1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000,
        10_000_000_000, 100_000_000_000, 1_000_000_000_000, 10_000_000_000_000, 100_000_000_000_000,
        1_000_000_000_000_000,
    ];

    // A float has 23 fraction bits, a double 52: the 29 low double bits are below a float's last place, and a
    // double exactly halfway between two adjacent normal floats has just the top one of them set.
    private const ulong BelowFloatPrecisionMask = (1UL << 29) - 1;
    private const ulong FloatMidpointBits = 1UL << 28;

    // The smallest normal float, 2^-126; below it floats are subnormal and have fewer fraction bits.
    private const double SmallestNormalFloat = 1.1754943508222875E-38;

    public static bool TryParseDouble(ReadOnlySpan<byte> number, out double value)
    {
        if (!TryReadDecimal(number, out var mantissa, out var exponent, out var negative) ||
            !TryComputeExactlyRounded(mantissa, exponent, out var magnitude))
        {
            value = 0;
            return false;
        }
        value = negative ? -magnitude : magnitude;
        return true;
    }

    public static bool TryParseSingle(ReadOnlySpan<byte> number, out float value)
    {
        value = 0;
        if (!TryReadDecimal(number, out var mantissa, out var exponent, out var negative) ||
            !TryComputeExactlyRounded(mantissa, exponent, out var magnitude))
            return false;

        // Rounding the correctly rounded double to float again is only wrong when that double landed exactly on
        // a float midpoint (then ties-to-even may pick the other float than the exact decimal would). Outside the
        // normal float range the float's last place is not bit 29 of the double, so those go the general way.
        var bits = (ulong)BitConverter.DoubleToInt64Bits(magnitude);
        if ((bits & BelowFloatPrecisionMask) == FloatMidpointBits) return false;
        if (magnitude != 0 && (magnitude < SmallestNormalFloat || magnitude > float.MaxValue)) return false;

        var single = (float)magnitude;
        value = negative ? -single : single;
        return true;
    }

    /// <summary>
    /// |number| as mantissa * 10^exponent, the mantissa holding at most 19 significant digits. False for anything
    /// that is not a plain JSON number or has more digits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool TryReadDecimal(ReadOnlySpan<byte> number, out ulong mantissa, out int exponent, out bool negative)
    {
        mantissa = 0;
        exponent = 0;
        var position = 0;
        negative = number.Length > 0 && number[0] == (byte)'-';
        if (negative) position = 1;

        // Leading zeros (the 0 of 0.000123 and the zeros after its point) are not counted as significant: they
        // leave the mantissa at 0.
        var significantDigits = 0;
        var integerStart = position;
        position = ReadDigits(number, position, ref mantissa, ref significantDigits);
        if (position == integerStart) return false;

        if (position < number.Length && number[position] == (byte)'.')
        {
            var fractionStart = ++position;
            position = ReadDigits(number, position, ref mantissa, ref significantDigits);
            if (position == fractionStart) return false;
            exponent = fractionStart - position;
        }

        if (position < number.Length && (number[position] | 0x20) == (byte)'e')
        {
            position++;
            var negativeExponent = false;
            if (position < number.Length && (number[position] == (byte)'-' || number[position] == (byte)'+'))
            {
                negativeExponent = number[position] == (byte)'-';
                position++;
            }
            var exponentStart = position;
            var explicitExponent = 0;
            for (; position < number.Length; position++)
            {
                var digit = (uint)(number[position] - '0');
                if (digit > 9) break;
                // Capped so a huge exponent cannot overflow; anything this large fails the range check anyway.
                if (explicitExponent < 100_000) explicitExponent = explicitExponent * 10 + (int)digit;
            }
            if (position == exponentStart) return false;
            exponent += negativeExponent ? -explicitExponent : explicitExponent;
        }

        // Past 19 digits the mantissa wrapped around; a zero mantissa never counts digits, so 0.000 is fine.
        return position == number.Length && significantDigits <= MaxSignificantDigits;
    }

    /// <summary>Appends the decimal digits from <paramref name="position"/> on to the mantissa; returns where they end.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int ReadDigits(ReadOnlySpan<byte> number, int position, ref ulong mantissa, ref int significantDigits)
    {
        // Eight digits at a time while the mantissa cannot overflow with them (typical fractions have 8 or 9).
        while (number.Length - position >= 8 && significantDigits <= MaxSignificantDigits - 8)
        {
            var eightBytes = BinaryPrimitives.ReadUInt64LittleEndian(number.Slice(position, 8));
            if (!AreEightDigits(eightBytes)) break;
            mantissa = mantissa * 100_000_000 + EightDigitsValue(eightBytes);
            // Counting all eight even when some were leading zeros overstates the digits, which only makes the
            // 19-digit limit stricter, never lets the mantissa overflow.
            significantDigits = mantissa == 0 ? 0 : significantDigits + 8;
            position += 8;
        }
        for (; position < number.Length; position++)
        {
            var digit = (uint)(number[position] - '0');
            if (digit > 9) break;
            mantissa = mantissa * 10 + digit;
            if (mantissa != 0) significantDigits++;
        }
        return position;
    }

    /// <summary>True when each of the eight bytes is an ASCII digit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool AreEightDigits(ulong eightBytes)
    {
        // Each byte must be 0x30..0x39: high nibble 3, and adding 6 must not carry into the high nibble.
        const ulong highNibbles = 0xF0F0_F0F0_F0F0_F0F0;
        return ((eightBytes & highNibbles) | (((eightBytes + 0x0606_0606_0606_0606) & highNibbles) >> 4)) == 0x3333_3333_3333_3333;
    }

    /// <summary>The value of eight ASCII digits, the first in the lowest byte (little-endian read).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong EightDigitsValue(ulong eightBytes)
    {
        var digits = eightBytes - 0x3030_3030_3030_3030;
        // Combine neighbours into two-, then four-, then eight-digit numbers; each step keeps the earlier
        // (more significant) digit group in the lower lane.
        var pairs = (digits * 10 + (digits >> 8)) & 0x00FF_00FF_00FF_00FF;
        var quads = (pairs * 100 + (pairs >> 16)) & 0x0000_FFFF_0000_FFFF;
        return (quads & 0xFFFF_FFFF) * 10_000 + (quads >> 32);
    }

    /// <summary>
    /// mantissa * 10^exponent correctly rounded to a double, when one IEEE operation on exact operands does it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool TryComputeExactlyRounded(ulong mantissa, int exponent, out double magnitude)
    {
        magnitude = 0;
        if (mantissa == 0) return true;
        if (mantissa > MaxExactMantissa)
        {
            // 0.50000000000000000 has a long mantissa only because of its trailing zeros.
            while (mantissa % 10 == 0)
            {
                mantissa /= 10;
                exponent++;
            }
            if (mantissa > MaxExactMantissa) return false;
        }

        if (exponent > MaxExactPowerOfTen)
        {
            // 12e25 = 12000 * 1e22: the surplus powers of ten go into the mantissa while it stays exact.
            var surplus = exponent - MaxExactPowerOfTen;
            if (surplus >= IntegerPowersOfTen.Length) return false;
            var scale = IntegerPowersOfTen[surplus];
            if (mantissa > MaxExactMantissa / scale) return false;
            mantissa *= scale;
            exponent = MaxExactPowerOfTen;
        }
        else if (exponent < -MaxExactPowerOfTen) return false;

        // Both operands are exact doubles, so the single rounding of the product or quotient is the correct one.
        magnitude = exponent >= 0
            ? (double)mantissa * ExactPowersOfTen[exponent]
            : (double)mantissa / ExactPowersOfTen[-exponent];
        return true;
    }
}
