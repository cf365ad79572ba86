using System.Security.Cryptography.X509Certificates;
using TrainedModelsOrleans.Grains.Wire;

namespace TrainedModelsOrleans.Silo;

/// <summary>
/// The node's TLS, read and loaded once at start; a bad file stops the start with a message naming the setting.
/// <list type="bullet">
/// <item>Tls:Http:Certificate (PEM or PKCS#12), Tls:Http:Key (PEM key, when not in the certificate file),
/// Tls:Http:Password (of the PKCS#12 file or the encrypted key): HTTPS on the API, as xpack.security.http.ssl.</item>
/// <item>Tls:Transport:Certificate, :Key, :Password and Tls:Transport:CertificateAuthorities (PEM bundle): TLS with
/// mutual authentication on the silo and gateway ports, as xpack.security.transport.ssl; an API-only process presents
/// the same kind of certificate to the gateways.</item>
/// </list>
/// </summary>
public sealed class TlsSettings
{
    public const string Section = "Tls";
    public const string DefaultHttpsUrls = "https://127.0.0.1:9200";

    /// <summary>The API's server certificate; null: plain HTTP.</summary>
    public X509Certificate2? Http { get; private init; }

    /// <summary>The transport's certificate and authorities; null: plaintext Orleans connections.</summary>
    public TransportTls? Transport { get; private init; }

    public static TlsSettings From(IConfiguration configuration)
    {
        var http = configuration.GetSection($"{Section}:Http");
        var transport = configuration.GetSection($"{Section}:Transport");
        return new TlsSettings
        {
            Http = http["Certificate"] is { Length: > 0 } httpCertificate
                ? CertificateFiles.LoadWithKey($"{Section}:Http:Certificate", httpCertificate, http["Key"], http["Password"])
                : null,
            Transport = transport["Certificate"] is { Length: > 0 } transportCertificate
                ? new TransportTls(
                    CertificateFiles.LoadWithKey($"{Section}:Transport:Certificate", transportCertificate, transport["Key"], transport["Password"]),
                    // Required: the gateway has no other authentication, so trusting the system's public roots would
                    // admit anyone holding any publicly issued client certificate.
                    transport["CertificateAuthorities"] is { Length: > 0 } authorities
                        ? CertificateFiles.LoadAuthorities($"{Section}:Transport:CertificateAuthorities", authorities)
                        : throw new CertificateFileException(
                            $"{Section}:Transport:Certificate is set but {Section}:Transport:CertificateAuthorities is not: give the PEM file of the cluster's certificate authority"))
                : null,
        };
    }

    /// <summary>
    /// The URLs the API listens on: Urls as configured, or the default (https when Tls:Http is set). A scheme that does
    /// not match the TLS setting stops the start, rather than serving plaintext when TLS was asked for.
    /// </summary>
    public string ListenUrls(string? configuredUrls)
    {
        var urls = string.IsNullOrWhiteSpace(configuredUrls) ? (Http is null ? NodeSettings.DefaultUrls : DefaultHttpsUrls) : configuredUrls;
        foreach (var url in urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var https = url.StartsWith("https://", StringComparison.OrdinalIgnoreCase);
            if (Http is not null && !https)
                throw new InvalidOperationException($"Tls:Http:Certificate is set, so Urls must all be https://; [{url}] is not");
            if (Http is null && https)
                throw new InvalidOperationException($"Urls [{url}] is https:// but Tls:Http:Certificate is not set");
        }
        return urls;
    }
}
