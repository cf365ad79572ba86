using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace TrainedModelsOrleans.Cli.Service;

/// <summary>
/// Where the service is and how to authenticate: credentials are sent as Elasticsearch clients send them, Basic for a
/// user and password, <c>ApiKey</c> for an encoded API key (the service's security refuses requests without them).
/// </summary>
/// <param name="CaCertificate">A PEM file of the authorities an https service's certificate must chain to (a private CA,
/// as the README's test certificate); null: the system's roots.</param>
public sealed record ServiceConnection(Uri Url, string? User = null, string? Password = null, string? ApiKey = null, string? CaCertificate = null)
{
    public static readonly Uri DefaultUrl = new("http://127.0.0.1:9200");

    /// <summary>Long enough for one part of a large model, or a start that waits for its allocations.</summary>
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromMinutes(2);

    public AuthenticationHeaderValue? Authorization =>
        ApiKey is { Length: > 0 } key ? new AuthenticationHeaderValue("ApiKey", key)
        : User is { Length: > 0 } user ? new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{Password}")))
        : null;

    public HttpClient CreateHttpClient(HttpMessageHandler? handler = null)
    {
        var http = new HttpClient(handler ?? NewHandler(), disposeHandler: true);
        http.BaseAddress = Url;
        http.Timeout = RequestTimeout;
        http.DefaultRequestHeaders.Authorization = Authorization;
        return http;
    }

    private SocketsHttpHandler NewHandler()
    {
        var handler = new SocketsHttpHandler();
        if (CaCertificate is null) return handler;
        var authorities = new X509Certificate2Collection();
        try
        {
            authorities.ImportFromPemFile(CaCertificate);
        }
        catch (System.Security.Cryptography.CryptographicException e)
        {
            throw new ArgumentException($"--ca-certificate [{CaCertificate}] could not be read as PEM certificates: {e.Message}", e);
        }
        if (authorities.Count == 0) throw new ArgumentException($"--ca-certificate [{CaCertificate}] holds no PEM certificate");
        // A private authority publishes no revocation lists (curl --cacert does not look for them either).
        handler.SslOptions.CertificateChainPolicy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
        };
        handler.SslOptions.CertificateChainPolicy.CustomTrustStore.AddRange(authorities);
        return handler;
    }
}
