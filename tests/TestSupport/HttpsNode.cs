using TrainedModelsOrleans.Silo;

namespace TrainedModelsOrleans.TestSupport;

/// <summary>A node serving HTTPS (Tls:Http) with a certificate of a private test authority, on its own database.</summary>
public sealed class HttpsNode : IAsyncDisposable
{
    private readonly TestDatabase _database;

    private HttpsNode(TestCertificates certificates, TestDatabase database, SiloHost node) =>
        (Certificates, _database, Node) = (certificates, database, node);

    public TestCertificates Certificates { get; }
    public SiloHost Node { get; }

    public static async Task<HttpsNode> StartAsync(string name)
    {
        var certificates = TestCertificates.Create();
        var database = await TestDatabase.CreateAsync(name.Replace("-", "", StringComparison.Ordinal));
        var node = await SiloHost.StartAsync(
        [
            .. TestSecurity.Arguments,
            "--Urls=https://127.0.0.1:0",
            $"--Tls:Http:Certificate={certificates.NodeCertificatePath}",
            $"--Tls:Http:Key={certificates.NodeKeyPath}",
            $"--ConnectionStrings:Postgres={database.ConnectionString}",
            $"--DataDirectory={TestRunDirectory.CreateScratchDirectory(name)}",
            $"--Node:Name={name}-node",
            "--Logging:LogLevel:Default=Warning",
        ]);
        return new HttpsNode(certificates, database, node);
    }

    public async ValueTask DisposeAsync()
    {
        await Node.DisposeAsync();
        await _database.DisposeAsync();
        Certificates.Dispose();
    }
}
