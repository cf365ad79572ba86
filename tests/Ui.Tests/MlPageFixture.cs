using TrainedModelsOrleans.TestSupport;
using Microsoft.Playwright;
using TrainedModelsOrleans.Silo;
using Xunit;

namespace TrainedModelsOrleans.Ui.Tests;

/// <summary>
/// The whole service (silo + HTTP API + dashboard on real Kestrel, 127.0.0.1, a free port) over a database of its own,
/// and Debian's Chromium driven headless by Playwright (its bundled driver, the system browser).
/// </summary>
public sealed class MlPageFixture : IAsyncLifetime
{
    public const string NodeName = "ui-test-node";
    public const int Processors = 4;

    /// <summary>The browser answers the service's Basic challenge as elastic (the page, its API calls and the dashboard).</summary>
    public static readonly Microsoft.Playwright.HttpCredentials Credentials =
        new() { Username = TestSecurity.ElasticUser, Password = TestSecurity.ElasticPassword };

    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "tmo-ui-tests", Guid.NewGuid().ToString("N"));
    private IPlaywright? _playwright;

    public TestDatabase Database { get; private set; } = null!;
    public SiloHost Node { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;
    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await SystemChromium.EnsureInstalledAsync();
        Database = await TestDatabase.CreateAsync("ui");
        Node = await SiloHost.StartAsync(
        [
            .. TestSecurity.Arguments,
            "--Urls=http://127.0.0.1:0",
            $"--ConnectionStrings:Postgres={Database.ConnectionString}",
            $"--DataDirectory={_dataDirectory}",
            $"--Node:Name={NodeName}",
            $"--Node:Processors={Processors}",
            "--Node:MemoryBytes=17179869184",
            "--Logging:LogLevel:Default=Warning",
            "--Logging:LogLevel:TrainedModelsOrleans=Warning",
            "--Logging:LogLevel:Microsoft.Hosting.Lifetime=Warning",
        ]);
        Http = TestSecurity.Client(Node.BaseAddress, TimeSpan.FromSeconds(60));
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = SystemChromium.ExecutablePath,
            Headless = true,
            // Playwright gives each launch a fresh temporary profile (--user-data-dir) of its own.
            Args = SystemChromium.Arguments,
            Timeout = 30_000,
        });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null) await Browser.CloseAsync();
        _playwright?.Dispose();
        Http?.Dispose();
        if (Node is not null) await Node.DisposeAsync();
        if (Database is not null) await Database.DisposeAsync();
        try { Directory.Delete(_dataDirectory, recursive: true); } catch (DirectoryNotFoundException) { }
    }
}

/// <summary>The test classes that use the service and browser share one of each, and run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class MlPageCollection : ICollectionFixture<MlPageFixture>
{
    public const string Name = "ML page";
}
