using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace TrainedModelsOrleans.Grains.Security;

/// <summary>
/// PBKDF2-HMAC-SHA256 hashes of passwords and API keys, with a random 16-byte salt per hash and the iteration count
/// written into the hash ("$pbkdf2-sha256$i=600000$salt$hash"), so a count raised later still verifies old hashes.
/// Verification compares in constant time.
/// </summary>
public static class PasswordHashing
{
    private const string Prefix = "$pbkdf2-sha256$i=";
    private const int SaltBytes = 16;
    private const int HashBytes = 32;

    /// <summary>OWASP's 2023 figure for PBKDF2-HMAC-SHA256 passwords.</summary>
    public const int DefaultPasswordIterations = 600_000;

    /// <summary>
    /// API keys are 128 random bits, so guessing them is hopeless whatever the count; ES's PBKDF2 default (10,000) keeps a
    /// key's first use cheap.
    /// </summary>
    public const int DefaultApiKeyIterations = 10_000;

    public static string Hash(string secret, int iterations)
    {
        if (iterations < 1) throw new ArgumentOutOfRangeException(nameof(iterations));
        var salt = RandomNumberGenerator.GetBytes(SaltBytes);
        var hash = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(secret), salt, iterations, HashAlgorithmName.SHA256, HashBytes);
        return $"{Prefix}{iterations.ToString(CultureInfo.InvariantCulture)}${Convert.ToBase64String(salt)}${Convert.ToBase64String(hash)}";
    }

    /// <summary>False for a wrong secret and for a stored value that is not one of our hashes.</summary>
    public static bool Verify(string secret, string stored)
    {
        if (!TryParse(stored, out var iterations, out var salt, out var expected)) return false;
        var actual = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(secret), salt, iterations, HashAlgorithmName.SHA256, expected.Length);
        return CryptographicOperations.FixedTimeEquals(actual, expected);
    }

    /// <summary>The iteration count of a stored hash (null when it is not one).</summary>
    public static int? Iterations(string stored) => TryParse(stored, out var iterations, out _, out _) ? iterations : null;

    private static bool TryParse(string stored, out int iterations, out byte[] salt, out byte[] hash)
    {
        iterations = 0;
        salt = hash = [];
        if (!stored.StartsWith(Prefix, StringComparison.Ordinal)) return false;
        var parts = stored[Prefix.Length..].Split('$');
        if (parts.Length != 3 || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out iterations) || iterations < 1)
            return false;
        try
        {
            salt = Convert.FromBase64String(parts[1]);
            hash = Convert.FromBase64String(parts[2]);
        }
        catch (FormatException)
        {
            return false;
        }
        return salt.Length > 0 && hash.Length > 0;
    }
}
