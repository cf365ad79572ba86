using TrainedModelsOrleans.Silo;
using TrainedModelsOrleans.TestSupport;
using Xunit;

namespace TrainedModelsOrleans.Cli.Tests;

/// <summary>The tool against a service with Tls:Http on: it trusts a private authority given with --ca-certificate, and only then.</summary>
public sealed class HttpsServiceTests : IAsyncLifetime
{
    private readonly TestCertificates _certificates = TestCertificates.Create();
    private readonly string _dataDirectory = TestRunDirectory.CreateScratchDirectory("cli-https");
    private TestDatabase _database = null!;
    private SiloHost _node = null!;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync("clihttps");
        _node = await SiloHost.StartAsync(
        [
            .. TestSecurity.Arguments,
            "--Urls=https://127.0.0.1:0",
            $"--Tls:Http:Certificate={_certificates.NodeCertificatePath}",
            $"--Tls:Http:Key={_certificates.NodeKeyPath}",
            $"--ConnectionStrings:Postgres={_database.ConnectionString}",
            $"--DataDirectory={_dataDirectory}",
            "--Node:Name=cli-https-node",
            "--Logging:LogLevel:Default=Warning",
        ]);
    }

    public async Task DisposeAsync()
    {
        await _node.DisposeAsync();
        await _database.DisposeAsync();
        _certificates.Dispose();
    }

    [Fact]
    public async Task List_over_https_works_with_the_ca_certificate_and_stops_at_once_without_it()
    {
        Assert.Equal("https", _node.BaseAddress.Scheme);
        string[] service = ["--url", _node.BaseAddress.ToString(), "--user", TestSecurity.ElasticUser, "--password", TestSecurity.ElasticPassword];

        await using (var trusting = NodeProcess.Launch("TrainedModelsOrleans.Cli.dll", ["list", .. service, "--ca-certificate", _certificates.AuthorityPath]))
            Assert.True(await trusting.WaitForExitAsync(TimeSpan.FromSeconds(60)) == 0, trusting.OutputTail());

        // An untrusted certificate is not retried: the tool stops with the hint, exit code 2 (unreachable).
        await using var untrusting = NodeProcess.Launch("TrainedModelsOrleans.Cli.dll", ["list", .. service]);
        Assert.Equal(2, await untrusting.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains(untrusting.Output, l => l.Contains("TLS certificate was not accepted", StringComparison.Ordinal) && l.Contains("--ca-certificate", StringComparison.Ordinal));
    }
}
