using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Orleans;
using Orleans.Connections.Security;
using Orleans.Hosting;

namespace TrainedModelsOrleans.Grains.Wire;

/// <summary>
/// TLS on the Orleans connections (silo to silo, and clients to a silo's gateway), as Elasticsearch secures its
/// transport layer: both ends present a certificate, and each accepts the other's only if it chains to the configured
/// certificate authorities. The gateway thereby admits only clients holding a certificate the cluster's authority
/// signed: the Orleans SDK path carries no user credentials, so the certificate is what authenticates a service.
/// </summary>
public sealed class TransportTls
{
    public TransportTls(X509Certificate2 certificate, X509Certificate2Collection authorities)
    {
        if (!certificate.HasPrivateKey) throw new ArgumentException("the transport certificate needs its private key", nameof(certificate));
        if (authorities.Count == 0) throw new ArgumentException("the transport needs the cluster's certificate authorities", nameof(authorities));
        Certificate = certificate;
        Validator = new CertificateChainValidator(authorities);
    }

    /// <summary>What this end presents: a silo's node certificate, or a client's.</summary>
    public X509Certificate2 Certificate { get; }

    public CertificateChainValidator Validator { get; }

    /// <summary>Settings of Orleans' TLS middleware: mutual authentication, chains checked against our authorities.</summary>
    public void Configure(TlsOptions options)
    {
        options.LocalCertificate = Certificate;
        options.RemoteCertificateMode = RemoteCertificateMode.RequireCertificate;
        options.ClientCertificateMode = RemoteCertificateMode.RequireCertificate;
        options.RemoteCertificateValidation = (certificate, chain, errors) => Validator.IsTrusted(certificate, chain, errors);
    }
}

/// <summary>
/// Elasticsearch's <c>verification_mode: certificate</c>: the peer's certificate must chain to one of the configured
/// authorities — never merely to the system's public roots — and be within its validity; its host name is not
/// checked, because silos reach each other at the addresses in the membership table, not at names.
/// </summary>
public sealed class CertificateChainValidator(X509Certificate2Collection authorities)
{
    public X509Certificate2Collection Authorities { get; } = authorities;

    public bool IsTrusted(X509Certificate2 certificate, X509Chain? presentedChain, SslPolicyErrors errors)
    {
        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable) || Authorities.Count == 0) return false;
        if (!IsForTls(certificate)) return false;

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(Authorities);
        // Private clusters' authorities publish no revocation lists; Elasticsearch does not check them by default either.
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        // Intermediates the peer sent along may complete the chain to our root.
        if (presentedChain is not null)
        {
            foreach (var element in presentedChain.ChainElements)
                if (!element.Certificate.Equals(certificate)) chain.ChainPolicy.ExtraStore.Add(element.Certificate);
        }
        return chain.Build(certificate);
    }

    /// <summary>
    /// A certificate that states its purposes (extended key usage) must name TLS authentication, as server or client
    /// (each end of a transport connection is one or the other); one that states none is for any purpose.
    /// </summary>
    private static bool IsForTls(X509Certificate2 certificate)
    {
        if (certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().FirstOrDefault() is not { } usage) return true;
        foreach (var purpose in usage.EnhancedKeyUsages)
            if (purpose.Value is TlsPurposes.ServerAuthentication or TlsPurposes.ClientAuthentication) return true;
        return false;
    }
}

/// <summary>Server and client authentication, the purposes a transport certificate may state.</summary>
file static class TlsPurposes
{
    public const string ServerAuthentication = "1.3.6.1.5.5.7.3.1";
    public const string ClientAuthentication = "1.3.6.1.5.5.7.3.2";
}

public static class TransportTlsClientExtensions
{
    /// <summary>An Orleans client of a cluster whose silos run with Tls:Transport: presents this certificate, trusts only these authorities.</summary>
    public static IClientBuilder UseTrainedModelsTls(this IClientBuilder client, TransportTls tls) => client.UseTls(tls.Configure);
}
