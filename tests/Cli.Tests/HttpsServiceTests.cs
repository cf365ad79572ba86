using TrainedModelsOrleans.Silo;
using TrainedModelsOrleans.TestSupport;
using Xunit;

namespace TrainedModelsOrleans.Cli.Tests;

/// <summary>The tool against a service with Tls:Http on: it trusts a private authority given with --ca-certificate, and only then.</summary>
public sealed class HttpsServiceTests : IAsyncLifetime
{
    private HttpsNode _https = null!;

    public async Task InitializeAsync() => _https = await HttpsNode.StartAsync("cli-https");

    public async Task DisposeAsync() => await _https.DisposeAsync();

    [Fact]
    public async Task List_over_https_works_with_the_ca_certificate_and_stops_at_once_without_it()
    {
        Assert.Equal("https", _https.Node.BaseAddress.Scheme);
        string[] service = ["--url", _https.Node.BaseAddress.ToString(), "--user", TestSecurity.ElasticUser, "--password", TestSecurity.ElasticPassword];

        await using (var trusting = NodeProcess.Launch("TrainedModelsOrleans.Cli.dll", ["list", .. service, "--ca-certificate", _https.Certificates.AuthorityPath]))
            Assert.True(await trusting.WaitForExitAsync(TimeSpan.FromSeconds(60)) == 0, trusting.OutputTail());

        // An untrusted certificate is not retried: the tool stops with the hint, exit code 2 (unreachable).
        await using var untrusting = NodeProcess.Launch("TrainedModelsOrleans.Cli.dll", ["list", .. service]);
        Assert.Equal(2, await untrusting.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains(untrusting.Output, l => l.Contains("TLS certificate was not accepted", StringComparison.Ordinal) && l.Contains("--ca-certificate", StringComparison.Ordinal));
    }
}
