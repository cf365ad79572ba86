using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace TrainedModelsOrleans.Grains.Wire;

/// <summary>
/// Certificates from files, as Elasticsearch's <c>ssl.certificate</c>/<c>ssl.key</c>, <c>ssl.keystore.path</c> and
/// <c>ssl.certificate_authorities</c> take them: a PEM certificate with its PEM key (the key may be in the same file,
/// and encrypted with a password), or a PKCS#12 file (.p12/.pfx) with its password. Errors name the setting and the
/// file, never the password.
/// </summary>
public static class CertificateFiles
{
    /// <summary>A certificate with its private key, for a TLS server or a client that authenticates.</summary>
    /// <param name="setting">The configuration key the paths came from, for the error message.</param>
    public static X509Certificate2 LoadWithKey(string setting, string certificatePath, string? keyPath = null, string? password = null)
    {
        var certificate = Load(setting, certificatePath, keyPath, password);
        if (!certificate.HasPrivateKey)
        {
            certificate.Dispose();
            throw new CertificateFileException(
                $"{setting} [{certificatePath}] has no private key: give the PEM key file ({KeySetting(setting)}) or a PKCS#12 file that holds the key");
        }
        return certificate;
    }

    /// <summary>Every certificate of a PEM bundle: the authorities a peer's certificate must chain to.</summary>
    public static X509Certificate2Collection LoadAuthorities(string setting, string path)
    {
        var authorities = new X509Certificate2Collection();
        try
        {
            authorities.ImportFromPemFile(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
        {
            throw new CertificateFileException($"{setting} [{path}] could not be read as PEM certificates: {e.Message}", e);
        }
        if (authorities.Count == 0) throw new CertificateFileException($"{setting} [{path}] holds no PEM certificate");
        return authorities;
    }

    private static X509Certificate2 Load(string setting, string certificatePath, string? keyPath, string? password)
    {
        try
        {
            if (!IsPem(certificatePath)) return X509CertificateLoader.LoadPkcs12FromFile(certificatePath, password);
            // A PEM file may carry its key after the certificate; CreateFromPemFile reads the key from the same file then.
            var keyFile = string.IsNullOrEmpty(keyPath) ? certificatePath : keyPath;
            if (!string.IsNullOrEmpty(keyPath) || PemHasKey(certificatePath))
            {
                return string.IsNullOrEmpty(password)
                    ? X509Certificate2.CreateFromPemFile(certificatePath, keyFile)
                    : X509Certificate2.CreateFromEncryptedPemFile(certificatePath, password, keyFile);
            }
            return X509CertificateLoader.LoadCertificateFromFile(certificatePath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            var files = string.IsNullOrEmpty(keyPath) ? $"[{certificatePath}]" : $"[{certificatePath}] with key [{keyPath}]";
            throw new CertificateFileException($"{setting} {files} could not be loaded: {e.Message}", e);
        }
    }

    private static bool IsPem(string path)
    {
        using var file = File.OpenRead(path);
        Span<byte> head = stackalloc byte[64];
        var read = file.Read(head);
        return System.Text.Encoding.ASCII.GetString(head[..read]).TrimStart().StartsWith("-----BEGIN", StringComparison.Ordinal);
    }

    private static bool PemHasKey(string path) => File.ReadAllText(path).Contains("PRIVATE KEY-----", StringComparison.Ordinal);

    private static string KeySetting(string setting) =>
        setting.EndsWith(":Certificate", StringComparison.Ordinal) ? setting[..^"Certificate".Length] + "Key" : "the key setting";
}

/// <summary>A configured certificate file is missing, unreadable or unusable; the message names the setting.</summary>
public sealed class CertificateFileException(string message, Exception? inner = null) : Exception(message, inner);
