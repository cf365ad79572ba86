using System.Text.RegularExpressions;
using TrainedModelsOrleans.TestSupport;
using Xunit;

namespace TrainedModelsOrleans.Api.Tests.Security;

/// <summary>
/// Real node processes started as an operator would: with no password configured one is generated, printed once and
/// stored only hashed; with Security:Enabled=false everything is open and the log says so.
/// </summary>
public sealed partial class SecurityStartupTests : IAsyncLifetime
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "tmo-api-tests", Guid.NewGuid().ToString("N"));
    private TestDatabase _database = null!;

    public async Task InitializeAsync() => _database = await TestDatabase.CreateAsync("security");

    public async Task DisposeAsync()
    {
        await _database.DisposeAsync();
        try { Directory.Delete(_dataDirectory, recursive: true); } catch (DirectoryNotFoundException) { }
    }

    private string[] NodeArguments(params string[] extra) =>
    [
        $"--ConnectionStrings:Postgres={_database.ConnectionString}",
        $"--DataDirectory={_dataDirectory}",
        "--Node:Name=security-node",
        "--Node:Processors=2",
        $"--Security:PasswordHashIterations={TestSecurity.PasswordHashIterations}",
        .. extra,
    ];

    [GeneratedRegex(@"password of the \[elastic\] user was generated: (\S+) ")]
    private static partial Regex GeneratedPassword();

    [Fact]
    public async Task Without_a_configured_password_one_is_generated_printed_once_and_stored_hashed()
    {
        var port = NodeProcess.FreePort();
        string password;
        await using (var node = NodeProcess.LaunchSilo(port, NodeArguments()))
        {
            password = await WaitForGeneratedPasswordAsync(node);
            using var http = TestSecurity.Client(node.BaseAddress, TimeSpan.FromSeconds(30), TestSecurity.Basic("elastic", password));
            (await http.SendJsonAsync(HttpMethod.Get, "/")).AssertOk();
            (await http.SendJsonAsync(HttpMethod.Get, "/_security/_authenticate")).AssertOk();
        }

        var row = await _database.ScalarAsync<string>(
            "SELECT convert_from(payloadbinary, 'UTF8') FROM orleansstorage WHERE grainidextensionstring LIKE '%/security'");
        Assert.NotNull(row);
        Assert.DoesNotContain(password, row, StringComparison.Ordinal);
        Assert.Contains("$pbkdf2-sha256$i=", row, StringComparison.Ordinal);

        // A restart keeps the stored password and prints nothing.
        await using (var again = NodeProcess.LaunchSilo(port, NodeArguments()))
        {
            using var http = TestSecurity.Client(again.BaseAddress, TimeSpan.FromSeconds(5), TestSecurity.Basic("elastic", password));
            Assert.True(await AnswersOkAsync(http, again), again.OutputTail());
            Assert.DoesNotContain(again.Output, line => line.Contains("was generated", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task Security_disabled_serves_requests_without_credentials_and_warns_at_start()
    {
        await using var node = await NodeProcess.StartAsync(NodeProcess.FreePort(), NodeArguments("--Security:Enabled=false"), TimeSpan.FromSeconds(60));
        using var anonymous = new HttpClient { BaseAddress = node.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        (await anonymous.SendJsonAsync(HttpMethod.Get, "/_ml/trained_models")).AssertOk();
        (await anonymous.SendJsonAsync(HttpMethod.Get, "/_prometheus/metrics")).AssertOk();
        Assert.Contains(node.Output, line => line.Contains("Security is disabled (Security:Enabled=false)", StringComparison.Ordinal));
    }

    private static async Task<string> WaitForGeneratedPasswordAsync(NodeProcess node)
    {
        for (var attempt = 0; attempt < 600; attempt++)
        {
            foreach (var line in node.Output)
                if (GeneratedPassword().Match(line) is { Success: true } match) return match.Groups[1].Value;
            if (node.HasExited) break;
            await Task.Delay(100);
        }
        throw new Xunit.Sdk.XunitException("no generated password was printed\n" + node.OutputTail());
    }

    private static async Task<bool> AnswersOkAsync(HttpClient http, NodeProcess node)
    {
        for (var attempt = 0; attempt < 300 && !node.HasExited; attempt++)
        {
            try
            {
                if ((await http.SendJsonAsync(HttpMethod.Get, "/")).Status == System.Net.HttpStatusCode.OK) return true;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            await Task.Delay(200);
        }
        return false;
    }
}
