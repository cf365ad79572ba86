using TrainedModelsOrleans.TestSupport;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using TrainedModelsOrleans.Silo;
using Xunit;

namespace TrainedModelsOrleans.Cli.Tests;

/// <summary>
/// The whole service (silo + HTTP API on 127.0.0.1, a free port) over a test database, as tests/Api.Tests' fixture starts
/// it, and a way to run the tool against it as its own process.
/// </summary>
public sealed class CliServiceFixture : IAsyncLifetime
{
    private const string CliAssembly = "TrainedModelsOrleans.Cli.dll";
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "tmo-cli-tests", Guid.NewGuid().ToString("N"));

    public TestDatabase Database { get; private set; } = null!;
    public SiloHost Node { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;

    /// <summary>Where tests write model, tensor and vocabulary files (removed with the fixture).</summary>
    public string Files => Path.Combine(_dataDirectory, "files");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Files);
        Database = await TestDatabase.CreateAsync("cli");
        Node = await SiloHost.StartAsync(
        [
            .. TestSecurity.Arguments,
            "--Urls=http://127.0.0.1:0",
            $"--ConnectionStrings:Postgres={Database.ConnectionString}",
            $"--DataDirectory={_dataDirectory}",
            "--Node:Name=cli-test-node",
            "--Node:Processors=2",
            "--Node:MemoryBytes=17179869184",
            "--Logging:LogLevel:Default=Warning",
            "--Logging:LogLevel:TrainedModelsOrleans=Warning",
            "--Logging:LogLevel:Microsoft.Hosting.Lifetime=Warning",
        ]);
        Http = TestSecurity.Client(Node.BaseAddress, TimeSpan.FromSeconds(60));
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Node.DisposeAsync();
        await Database.DisposeAsync();
        try { Directory.Delete(_dataDirectory, recursive: true); } catch (DirectoryNotFoundException) { }
    }

    public string WriteFile(string name, byte[] bytes)
    {
        var path = Path.Combine(Files, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>Starts the tool against this service (its output is redirected, so it prints lines, not a bar).</summary>
    public NodeProcess LaunchCli(params string[] args) => NodeProcess.Launch(CliAssembly,
        [.. args, "--url", Node.BaseAddress.ToString(), "--user", TestSecurity.ElasticUser, "--password", TestSecurity.ElasticPassword]);

    /// <summary>Runs the tool to its end, within <paramref name="bound"/>.</summary>
    public async Task<CliRun> RunCliAsync(TimeSpan bound, params string[] args)
    {
        await using var cli = LaunchCli(args);
        var exitCode = await cli.WaitForExitAsync(bound);
        return new CliRun(exitCode, cli.Output);
    }

    /// <summary>GET with include=definition_status: the model's config as the tool reads it.</summary>
    public async Task<JsonObject> ModelStatusAsync(string modelId)
    {
        var answer = await Http.SendJsonAsync(HttpMethod.Get, $"/_ml/trained_models/{modelId}?include=definition_status");
        return answer.AssertOk().Body["trained_model_configs"]![0]!.AsObject();
    }
}

/// <summary>What a finished run of the tool left: its exit code and its output lines (stdout and stderr).</summary>
public sealed partial record CliRun(int ExitCode, IReadOnlyList<string> Lines)
{
    public string Text => string.Join('\n', Lines);

    /// <summary>The part numbers of the "part N stored" lines.</summary>
    public IReadOnlyList<int> StoredPartLines => Lines.Select(l => PartStored().Match(l)).Where(m => m.Success)
        .Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)).ToArray();

    /// <summary>The JSON the tool printed (infer prints the service's answer).</summary>
    public JsonNode PrintedJson => JsonNode.Parse(Text[Text.IndexOf('{')..(Text.LastIndexOf('}') + 1)])!;

    public CliRun AssertExit(int expected)
    {
        Assert.True(ExitCode == expected, $"expected exit code {expected}, got {ExitCode}\n{Text}");
        return this;
    }

    [GeneratedRegex(@"^part (\d+) stored")]
    internal static partial Regex PartStored();
}
