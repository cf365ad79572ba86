using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Configuration;
using TrainedModelsOrleans.Grains.Wire;
using TrainedModelsOrleans.Silo;
using TrainedModelsOrleans.TestSupport;
using Xunit;

namespace TrainedModelsOrleans.Api.Tests.Security;

/// <summary>
/// Tls:* settings: certificates from PEM pairs, PEM files with their key, encrypted keys and PKCS#12 files; errors that
/// name the setting; the listen URLs' scheme following Tls:Http; and the transport's chain check against the configured
/// authorities. The cluster with both TLS settings on is Cluster.Tests' TlsClusterTests.
/// </summary>
public sealed class TlsSettingsTests : IDisposable
{
    private readonly TestCertificates _certificates = TestCertificates.Create();

    public void Dispose() => _certificates.Dispose();

    private static TlsSettings Settings(params (string Key, string Value)[] values) => TlsSettings.From(new ConfigurationBuilder()
        .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build());

    private string File(string name, string text)
    {
        var path = Path.Combine(_certificates.Folder, name);
        System.IO.File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void No_tls_settings_mean_plain_http_on_the_default_address_and_plaintext_transport()
    {
        var settings = Settings();
        Assert.Null(settings.Http);
        Assert.Null(settings.Transport);
        Assert.Equal("http://127.0.0.1:9200", settings.ListenUrls(null));
        Assert.Equal("http://0.0.0.0:9200", settings.ListenUrls("http://0.0.0.0:9200"));
    }

    [Fact]
    public void A_pem_certificate_and_key_make_the_api_https_on_the_default_address()
    {
        var settings = Settings(("Tls:Http:Certificate", _certificates.NodeCertificatePath), ("Tls:Http:Key", _certificates.NodeKeyPath));
        Assert.Equal(_certificates.Node.Thumbprint, settings.Http!.Thumbprint);
        Assert.True(settings.Http.HasPrivateKey);
        Assert.Equal("https://127.0.0.1:9200", settings.ListenUrls(null));
    }

    [Fact]
    public void A_scheme_that_contradicts_tls_http_stops_the_start()
    {
        var https = Settings(("Tls:Http:Certificate", _certificates.NodeCertificatePath), ("Tls:Http:Key", _certificates.NodeKeyPath));
        var error = Assert.Throws<InvalidOperationException>(() => https.ListenUrls("https://127.0.0.1:9200;http://127.0.0.1:9201"));
        Assert.Contains("[http://127.0.0.1:9201]", error.Message);
        Assert.Contains("Tls:Http:Certificate", error.Message);
        Assert.Contains("Tls:Http:Certificate is not set", Assert.Throws<InvalidOperationException>(() => Settings().ListenUrls("https://127.0.0.1:9200")).Message);
    }

    [Fact]
    public void A_pem_file_with_its_key_an_encrypted_key_and_a_pkcs12_file_all_load()
    {
        var combined = File("combined.pem", System.IO.File.ReadAllText(_certificates.NodeCertificatePath) + System.IO.File.ReadAllText(_certificates.NodeKeyPath));
        Assert.True(Settings(("Tls:Http:Certificate", combined)).Http!.HasPrivateKey);

        var key = _certificates.Node.GetECDsaPrivateKey()!;
        var encrypted = File("encrypted.key", key.ExportEncryptedPkcs8PrivateKeyPem("key-password",
            new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 10_000)));
        Assert.True(Settings(("Tls:Http:Certificate", _certificates.NodeCertificatePath), ("Tls:Http:Key", encrypted),
            ("Tls:Http:Password", "key-password")).Http!.HasPrivateKey);

        var pkcs12 = Path.Combine(_certificates.Folder, "node.p12");
        System.IO.File.WriteAllBytes(pkcs12, _certificates.Node.Export(X509ContentType.Pkcs12, "store-password"));
        var transport = Settings(("Tls:Transport:Certificate", pkcs12), ("Tls:Transport:Password", "store-password"),
            ("Tls:Transport:CertificateAuthorities", _certificates.AuthorityPath)).Transport!;
        Assert.Equal(_certificates.Node.Thumbprint, transport.Certificate.Thumbprint);
        Assert.Equal(_certificates.Authority.Thumbprint, Assert.Single(transport.Validator.Authorities).Thumbprint);
    }

    [Fact]
    public void Unusable_files_stop_the_start_with_the_setting_and_the_file_named_never_the_password()
    {
        var missing = Path.Combine(_certificates.Folder, "missing.crt");
        var error = Assert.Throws<CertificateFileException>(() => Settings(("Tls:Http:Certificate", missing)));
        Assert.StartsWith($"Tls:Http:Certificate [{missing}]", error.Message);

        var noKey = Assert.Throws<CertificateFileException>(() => Settings(("Tls:Transport:Certificate", _certificates.NodeCertificatePath)));
        Assert.Contains("has no private key", noKey.Message);
        Assert.Contains("Tls:Transport:Key", noKey.Message);

        var pkcs12 = Path.Combine(_certificates.Folder, "wrong.p12");
        System.IO.File.WriteAllBytes(pkcs12, _certificates.Node.Export(X509ContentType.Pkcs12, "right-password"));
        var wrong = Assert.Throws<CertificateFileException>(() => Settings(("Tls:Http:Certificate", pkcs12), ("Tls:Http:Password", "wrong-password")));
        Assert.StartsWith($"Tls:Http:Certificate [{pkcs12}]", wrong.Message);
        Assert.DoesNotContain("wrong-password", wrong.Message);

        var notPem = File("empty.crt", "not a certificate");
        Assert.Contains("holds no PEM certificate", Assert.Throws<CertificateFileException>(() => Settings(
            ("Tls:Transport:Certificate", _certificates.NodeCertificatePath), ("Tls:Transport:Key", _certificates.NodeKeyPath),
            ("Tls:Transport:CertificateAuthorities", notPem))).Message);
    }

    [Fact]
    public void The_transport_trusts_certificates_of_its_authorities_only_whatever_their_host_name()
    {
        var validator = new CertificateChainValidator([_certificates.Authority]);
        // Silos reach each other at IP addresses from the membership table: a name mismatch is no reason to refuse.
        Assert.True(validator.IsTrusted(_certificates.Node, null, SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateChainErrors));
        Assert.False(validator.IsTrusted(_certificates.Intruder, null, SslPolicyErrors.RemoteCertificateChainErrors));
        Assert.False(validator.IsTrusted(_certificates.OtherAuthority, null, SslPolicyErrors.RemoteCertificateChainErrors));
        Assert.False(validator.IsTrusted(_certificates.Node, null, SslPolicyErrors.RemoteCertificateNotAvailable));
        Assert.False(validator.IsTrusted(Expired(), null, SslPolicyErrors.RemoteCertificateChainErrors));
        // Signed by the CA, but for signing code only: not a TLS certificate.
        Assert.False(validator.IsTrusted(CodeSigningOnly(), null, SslPolicyErrors.RemoteCertificateChainErrors));

        // No authorities: nothing is trusted, not even what the system's public roots vouch for (the gateway has no
        // other authentication); the settings refuse to start that way.
        Assert.False(new CertificateChainValidator([]).IsTrusted(_certificates.Node, null, SslPolicyErrors.None));
        Assert.Contains("Tls:Transport:CertificateAuthorities is not", Assert.Throws<CertificateFileException>(() => Settings(
            ("Tls:Transport:Certificate", _certificates.NodeCertificatePath), ("Tls:Transport:Key", _certificates.NodeKeyPath))).Message);
    }

    private X509Certificate2 CodeSigningOnly()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=code-signing", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.3")], false));
        return request.Create(_certificates.Authority, DateTimeOffset.UtcNow.AddHours(-20), DateTimeOffset.UtcNow.AddHours(20), [5, 6, 7, 8]);
    }

    /// <summary>A certificate the test CA signed that expired an hour ago.</summary>
    private X509Certificate2 Expired()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=expired", key, HashAlgorithmName.SHA256);
        return request.Create(_certificates.Authority, DateTimeOffset.UtcNow.AddHours(-20), DateTimeOffset.UtcNow.AddHours(-1), [1, 2, 3, 4]);
    }
}
