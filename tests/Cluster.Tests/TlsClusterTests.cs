using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using TrainedModelsOrleans.Grains.Cluster;
using TrainedModelsOrleans.Grains.Serving;
using TrainedModelsOrleans.Grains.Wire;
using TrainedModelsOrleans.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace TrainedModelsOrleans.Cluster.Tests;

/// <summary>
/// One cluster with both TLS settings on: HTTPS on the API (Tls:Http) and mutual TLS on the silo and gateway ports
/// (Tls:Transport), every certificate from a private test CA. The silos form and serve a deployment spread over both
/// (silo-to-silo calls over TLS), the SDK and the API-only process reach it through the TLS gateway, and whoever
/// lacks a certificate of the cluster's CA — plaintext HTTP, a plaintext Orleans client, another CA's certificate —
/// gets nothing.
/// </summary>
public sealed class TlsClusterTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_cluster_with_https_and_transport_tls_serves_over_both_and_refuses_whoever_lacks_its_ca()
    {
        using var certificates = TestCertificates.Create();
        await using var cluster = await TestCluster.StartAsync(new TestClusterOptions { Silos = 2, Tls = certificates }, output);
        Assert.Equal("https", cluster[0].BaseAddress.Scheme);

        // HTTPS: a deployment of four single-thread allocations fills both two-processor nodes, so the silos planned
        // and started it together over their TLS connections; both serve it.
        var model = await TinyModel.UploadAsync(cluster[0].Http, "tls");
        (await cluster[1].Http.StartDeploymentAsync(model, "number_of_allocations=4&threads_per_allocation=1&wait_for=started")).AssertOk();
        // wait_for=started answers once the first node serves; the second follows.
        List<string> serving = [];
        await cluster.WaitUntilAsync(async () => (serving = await cluster.RowsAsync(
                "SELECT node FROM deployment_routes WHERE deployment_id = $1 AND routing_state = 'started' AND current_allocations = 2 ORDER BY node", model))
            .SequenceEqual(["node-0", "node-1"]), TimeSpan.FromSeconds(30), () => $"both nodes did not serve two allocations each: [{string.Join(", ", serving)}]");
        for (var i = 0; i < 2; i++)
        {
            var rows = new[] { TinyModel.Row(i), TinyModel.Row(i + 10) };
            TinyModel.AssertInferResults(await TinyModel.InferAsync(cluster[i].Http, model, rows), rows);
        }

        cluster.Log("deployed and served over HTTPS on both nodes");

        // The SDK through a TLS gateway, presenting a certificate of the cluster's CA.
        var sdkRows = new[] { TinyModel.Row(42) };
        var outputs = await (await cluster.ClientAsync()).GetGrain<IInferenceGrain>("sdk").InferTensors(model, TinyModel.Docs(sdkRows));
        TinyModel.AssertTensorResults(outputs, sdkRows);

        cluster.Log("SDK call through the TLS gateway answered");

        // The API-only process reaches the gateways over TLS too, and serves HTTPS itself.
        var apiPort = NodeProcess.FreePort();
        await using (var api = await NodeProcess.StartAsync(new Uri($"https://127.0.0.1:{apiPort}"),
        [
            $"--Client:Gateways={string.Join(',', cluster.Silos.Select(s => s.GatewayAddress))}",
            "--Node:Name=api-only",
            $"--DataDirectory={TestRunDirectory.CreateScratchDirectory("tls-api-only")}",
            "--Logging:LogLevel:Default=Warning",
            .. certificates.NodeArguments,
        ], TimeSpan.FromSeconds(60), certificates.TrustingHandler))
        {
            using var http = TestSecurity.Client(api.BaseAddress, TimeSpan.FromSeconds(60), handler: certificates.TrustingHandler());
            var rows = new[] { TinyModel.Row(7) };
            TinyModel.AssertInferResults(await TinyModel.InferAsync(http, model, rows), rows);
        }

        cluster.Log("API-only process served over the TLS gateways");

        // Plain HTTP on the HTTPS port gets no answer; nor does a client that does not trust the CA.
        using (var plain = TestSecurity.Client(new UriBuilder(cluster[0].BaseAddress) { Scheme = "http" }.Uri, TimeSpan.FromSeconds(10)))
            await Assert.ThrowsAsync<HttpRequestException>(() => plain.GetAsync("/"));
        using (var untrusting = TestSecurity.Client(cluster[0].BaseAddress, TimeSpan.FromSeconds(10)))
        {
            var refused = await Assert.ThrowsAsync<HttpRequestException>(() => untrusting.GetAsync("/"));
            Assert.IsType<AuthenticationException>(refused.InnerException);
        }

        cluster.Log("plaintext and untrusting HTTP clients refused");

        // The silo and gateway ports speak TLS and present the node certificate; a client certificate of another CA
        // ends the handshake, and no certificate at all ends it as well.
        foreach (var port in new[] { cluster[0].SiloPort, cluster[0].GatewayPort })
        {
            Assert.Equal(certificates.Node.Thumbprint, await HandshakeAsync(port, certificates, certificates.Node));
            AssertRefused(await Record.ExceptionAsync(() => HandshakeThenReadAsync(port, certificates, certificates.Intruder)));
            AssertRefused(await Record.ExceptionAsync(() => HandshakeThenReadAsync(port, certificates, clientCertificate: null)));
        }

        cluster.Log("raw handshakes checked");

        // An Orleans client without TLS, or with another CA's certificate, never connects.
        // (Orleans' client keeps retrying a gateway that drops it: its start is cancelled at the bound.)
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ConnectAndCallAsync(cluster, configure: null));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ConnectAndCallAsync(cluster,
            c => c.UseTrainedModelsTls(new TransportTls(certificates.Intruder, [certificates.Authority]))));

        cluster.Log("plaintext and foreign-CA Orleans clients refused");

        // The cluster is unharmed by the refusals.
        var last = new[] { TinyModel.Row(99) };
        TinyModel.AssertInferResults(await TinyModel.InferAsync(cluster[0].Http, model, last), last);
        await MlApi.AssertNoNodeOversubscribedAsync(cluster.DataSource);
    }

    /// <summary>The silo ended the handshake or the connection; not an answer, nor a connection left open (a timeout).</summary>
    private static void AssertRefused(Exception? refusal) =>
        Assert.True(refusal is IOException or AuthenticationException,
            $"expected the silo to refuse the connection, got {(refusal is null ? "no error" : $"{refusal.GetType().Name}: {refusal.Message}")}");

    /// <summary>A TLS handshake with the port, trusting the test CA; returns the thumbprint of the certificate the silo presented.</summary>
    private static async Task<string> HandshakeAsync(int port, TestCertificates certificates, X509Certificate2? clientCertificate)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", port);
        await using var tls = new SslStream(tcp.GetStream());
        await tls.AuthenticateAsClientAsync(ClientOptions(certificates, clientCertificate)).WaitAsync(TimeSpan.FromSeconds(10));
        return tls.RemoteCertificate!.GetCertHashString();
    }

    /// <summary>
    /// With TLS 1.3 the client's handshake completes before the server has checked the client's certificate: the
    /// server's refusal arrives on the first read (an alert, or the connection closed).
    /// </summary>
    private static async Task HandshakeThenReadAsync(int port, TestCertificates certificates, X509Certificate2? clientCertificate)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync("127.0.0.1", port);
        await using var tls = new SslStream(tcp.GetStream());
        await tls.AuthenticateAsClientAsync(ClientOptions(certificates, clientCertificate)).WaitAsync(TimeSpan.FromSeconds(10));
        var buffer = new byte[16];
        var read = await tls.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        if (read == 0) throw new IOException("the silo closed the connection");
        throw new Xunit.Sdk.XunitException($"the silo sent {read} bytes to a client it should have refused");
    }

    private static SslClientAuthenticationOptions ClientOptions(TestCertificates certificates, X509Certificate2? clientCertificate) => new()
    {
        TargetHost = "localhost",
        ClientCertificates = clientCertificate is null ? null : [clientCertificate],
        CertificateChainPolicy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            CustomTrustStore = { certificates.Authority },
            RevocationMode = X509RevocationMode.NoCheck,
        },
    };

    private static async Task ConnectAndCallAsync(TestCluster cluster, Action<Orleans.Hosting.IClientBuilder>? configure)
    {
        // The token stops the client's start (and disposes its host) if it is still trying to connect.
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(8));
        await using var client = await TrainedModelsClient.ConnectAsync([cluster[0].GatewayAddress], c =>
        {
            c.Configure<Orleans.Configuration.ClientMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(5));
            configure?.Invoke(c);
        }, bound.Token);
        await client.GetGrain<IClusterInfoGrain>("cluster").GetClusterUuid().WaitAsync(TimeSpan.FromSeconds(10));
    }
}
