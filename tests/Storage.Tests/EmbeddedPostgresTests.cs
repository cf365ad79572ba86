using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Npgsql;
using TrainedModelsOrleans.Silo.Storage;
using TrainedModelsOrleans.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace TrainedModelsOrleans.Storage.Tests;

/// <summary>
/// Clusters of their own, each in a folder under a 0700 parent made the way mktemp -d makes one,
/// so every test also proves the postgres account gets through such a parent.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class EmbeddedPostgresTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly string _parent = TestRunDirectory.CreateScratchDirectory("embedded"); // 0700, like mktemp -d
    private readonly ILogger _logger = new TestOutputLogger(output);

    private string Cluster => Path.Combine(_parent, "data", "postgres");

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await EmbeddedPostgres.StopClusterAsync(Cluster, null, TimeSpan.FromSeconds(30), immediate: true, _logger, default);
        Directory.Delete(_parent, recursive: true);
    }

    private EmbeddedPostgresOptions Options(int? port = null) => new()
    {
        DataDirectory = Cluster,
        DatabaseName = "app",
        Port = port,
    };

    [Fact]
    public async Task Cluster_under_a_private_parent_starts_and_keeps_the_password_private()
    {
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(_parent));

        await using var server = await EmbeddedPostgres.StartAsync(Options(), _logger, default);

        Assert.Equal("app", await ScalarAsync<string>(server.ConnectionString, "select current_database()"));
        if (Environment.UserName == "root")
            Assert.True(File.GetUnixFileMode(_parent).HasFlag(UnixFileMode.OtherExecute), "o+x added to the 0700 parent");
        var passwordFile = Path.Combine(_parent, "data", "postgres.password");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(passwordFile));
        Assert.Contains(File.ReadAllText(passwordFile).Trim(), server.ConnectionString);
        Assert.True(File.Exists(Path.Combine(_parent, "data", "postgres.log")));
        Assert.True(server.StartedByThisInstance);
    }

    [Fact]
    public async Task Restarted_server_keeps_its_data()
    {
        await using (var first = await EmbeddedPostgres.StartAsync(Options(), _logger, default))
        {
            await ExecuteAsync(first.ConnectionString, "create table kept (v text); insert into kept values ('survives a restart')");
            await first.StopAsync();
            Assert.Empty(Postmasters(Cluster));
        }

        await using var second = await EmbeddedPostgres.StartAsync(Options(), _logger, default);

        Assert.True(second.StartedByThisInstance);
        Assert.Equal("survives a restart", await ScalarAsync<string>(second.ConnectionString, "select v from kept"));
    }

    [Fact]
    public async Task Start_reuses_the_server_already_running_on_the_folder()
    {
        await using var first = await EmbeddedPostgres.StartAsync(Options(), _logger, default);
        var postmaster = Assert.Single(Postmasters(Cluster));

        await using (var second = await EmbeddedPostgres.StartAsync(Options(), _logger, default))
        {
            Assert.False(second.StartedByThisInstance);
            Assert.Equal(first.Port, second.Port);
            Assert.Equal(postmaster, Assert.Single(Postmasters(Cluster)));
            Assert.Equal(1, await ScalarAsync<int>(second.ConnectionString, "select 1"));
        }

        // Disposing the instance that only reused the server left it running.
        Assert.Equal(1, await ScalarAsync<int>(first.ConnectionString, "select 1"));
        await first.DisposeAsync();
        Assert.Empty(Postmasters(Cluster));
    }

    [Fact]
    public async Task Stale_pid_file_does_not_stop_a_start()
    {
        await using (var server = await EmbeddedPostgres.StartAsync(Options(), _logger, default))
            await ExecuteAsync(server.ConnectionString, "create table t (x int); insert into t values (42)");
        var pidFile = Path.Combine(Cluster, PostmasterPidFile.FileName);
        Assert.False(File.Exists(pidFile));

        // Left by a postmaster that was killed: its pid is gone ...
        File.WriteAllText(pidFile, $"{DeadPid()}\n{Cluster}\n1700000000\n5999\n\n127.0.0.1\n  1  999999999\nready   \n");
        await using (var server = await EmbeddedPostgres.StartAsync(Options(), _logger, default))
            Assert.Equal(42, await ScalarAsync<int>(server.ConnectionString, "select x from t"));

        // ... or now belongs to an unrelated process (this one).
        File.WriteAllText(pidFile, $"{Environment.ProcessId}\n{Cluster}\n1700000000\n5999\n\n127.0.0.1\n  1  999999999\nready   \n");
        await using (var server = await EmbeddedPostgres.StartAsync(Options(), _logger, default))
            Assert.Equal(42, await ScalarAsync<int>(server.ConnectionString, "select x from t"));
    }

    [Fact]
    public async Task Server_killed_with_SIGKILL_comes_back_with_committed_data()
    {
        await using (var server = await EmbeddedPostgres.StartAsync(Options(), _logger, default))
        {
            await ExecuteAsync(server.ConnectionString, "create table t (x int); insert into t values (7)");
            var postmaster = Assert.Single(Postmasters(Cluster));
            System.Diagnostics.Process.GetProcessById(postmaster).Kill();
            await Task.Delay(100);
        }

        await using var again = await EmbeddedPostgres.StartAsync(Options(), _logger, default);

        Assert.True(again.StartedByThisInstance);
        Assert.Equal(7, await ScalarAsync<int>(again.ConnectionString, "select x from t"));
    }

    [Fact]
    public async Task Start_on_a_taken_port_fails_with_the_server_log()
    {
        using var squatter = new TcpListener(IPAddress.Loopback, 0);
        squatter.Start();
        var port = ((IPEndPoint)squatter.LocalEndpoint).Port;

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => EmbeddedPostgres.StartAsync(Options(port), _logger, default));

        output.WriteLine(error.Message);
        Assert.Contains("Address already in use", error.Message);
        Assert.Contains("postgres.log", error.Message);
        Assert.Empty(Postmasters(Cluster));

        // With the port left to it, the same cluster starts.
        await using var server = await EmbeddedPostgres.StartAsync(Options(), _logger, default);
        Assert.NotEqual(port, server.Port);
    }

    /// <summary>Pids of postmasters (not their child processes) started with -D <paramref name="cluster"/>.</summary>
    private static List<int> Postmasters(string cluster)
    {
        var pids = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out var pid)) continue;
            string[] args;
            try { args = File.ReadAllText(Path.Combine(dir, "cmdline")).Split('\0'); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { continue; }
            var d = Array.IndexOf(args, "-D");
            if (args[0].EndsWith("/postgres", StringComparison.Ordinal) && d >= 0 && d + 1 < args.Length && args[d + 1] == cluster)
                pids.Add(pid);
        }
        return pids;
    }

    private static int DeadPid()
    {
        using var process = System.Diagnostics.Process.Start("true")!;
        process.WaitForExit();
        return process.Id;
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<T> ScalarAsync<T>(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return (T)(await command.ExecuteScalarAsync())!;
    }
}
