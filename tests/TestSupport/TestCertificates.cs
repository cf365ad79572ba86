using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace TrainedModelsOrleans.TestSupport;

/// <summary>
/// A private certificate authority and certificates it signs, made in process (no openssl) and written as PEM files
/// in a scratch folder, as the README's openssl commands make them: the CA, a node certificate for 127.0.0.1 and
/// localhost (server and client authentication), and a second, unrelated CA with a certificate of its own — an
/// intruder's.
/// </summary>
public sealed class TestCertificates : IDisposable
{
    private TestCertificates(string folder)
    {
        Folder = folder;
        Authority = NewAuthority("TrainedModelsOrleans test CA");
        Node = Issue(Authority, "node");
        OtherAuthority = NewAuthority("another CA");
        Intruder = Issue(OtherAuthority, "intruder");
        AuthorityPath = WritePem("ca.crt", Authority.ExportCertificatePem());
        (NodeCertificatePath, NodeKeyPath) = WritePair("node", Node);
        (IntruderCertificatePath, IntruderKeyPath) = WritePair("intruder", Intruder);
        OtherAuthorityPath = WritePem("other-ca.crt", OtherAuthority.ExportCertificatePem());
    }

    public string Folder { get; }
    public X509Certificate2 Authority { get; }
    public X509Certificate2 Node { get; }
    public X509Certificate2 OtherAuthority { get; }
    public X509Certificate2 Intruder { get; }

    public string AuthorityPath { get; }
    public string OtherAuthorityPath { get; }
    public string NodeCertificatePath { get; }
    public string NodeKeyPath { get; }
    public string IntruderCertificatePath { get; }
    public string IntruderKeyPath { get; }

    public static TestCertificates Create() => new(TestRunDirectory.CreateScratchDirectory("certificates"));

    /// <summary>A silo's settings for HTTPS on the API and TLS on the silo and gateway ports, with the node certificate.</summary>
    public string[] NodeArguments =>
    [
        $"--Tls:Http:Certificate={NodeCertificatePath}", $"--Tls:Http:Key={NodeKeyPath}",
        $"--Tls:Transport:Certificate={NodeCertificatePath}", $"--Tls:Transport:Key={NodeKeyPath}",
        $"--Tls:Transport:CertificateAuthorities={AuthorityPath}",
    ];

    /// <summary>An HTTP handler that trusts only the test CA (and checks the host name against the node certificate).</summary>
    public SocketsHttpHandler TrustingHandler() => new()
    {
        SslOptions = new SslClientAuthenticationOptions
        {
            CertificateChainPolicy = new X509ChainPolicy
            {
                TrustMode = X509ChainTrustMode.CustomRootTrust,
                CustomTrustStore = { Authority },
                RevocationMode = X509RevocationMode.NoCheck,
            },
        },
    };

    public void Dispose()
    {
        foreach (var certificate in new[] { Authority, Node, OtherAuthority, Intruder }) certificate.Dispose();
        try { Directory.Delete(Folder, recursive: true); } catch (IOException) { }
    }

    private static X509Certificate2 NewAuthority(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
    }

    private static X509Certificate2 Issue(X509Certificate2 authority, string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false)); // server and client authentication
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        var serial = RandomNumberGenerator.GetBytes(16);
        using var issued = request.Create(authority, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(30), serial);
        return issued.CopyWithPrivateKey(key);
    }

    private (string Certificate, string Key) WritePair(string name, X509Certificate2 certificate) =>
        (WritePem($"{name}.crt", certificate.ExportCertificatePem()), WritePem($"{name}.key", certificate.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem()));

    private string WritePem(string fileName, string pem)
    {
        var path = Path.Combine(Folder, fileName);
        File.WriteAllText(path, pem + "\n"); // as openssl writes them: files that can be concatenated
        return path;
    }
}
