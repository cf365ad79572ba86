using System.Diagnostics;
using Npgsql;
using TrainedModelsOrleans.Grains.Wire;
using Orleans;
using TrainedModelsOrleans.TestSupport;
using Xunit.Abstractions;

namespace TrainedModelsOrleans.Cluster.Tests;

/// <summary>How a <see cref="TestCluster"/> runs its silos. Defaults: three silos of two processors, the product's membership settings.</summary>
public sealed record TestClusterOptions
{
    public int Silos { get; init; } = 3;
    public int Processors { get; init; } = 2;

    /// <summary>
    /// How long Orleans may take to declare a killed silo dead with the product's default membership settings
    /// (1 s probes, 3 missed probes, then the votes): what the tests allow before they expect the death.
    /// </summary>
    public TimeSpan DeathDetection { get; init; } = TimeSpan.FromSeconds(6);
    public TimeSpan NodeCheckInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>The database the silos share; null: a fresh <see cref="TestDatabase"/>, dropped with the cluster.</summary>
    public string? ConnectionString { get; init; }

    /// <summary>How the silo of a given name reaches the database (through a <see cref="TcpRelay"/>, say); null: <see cref="ConnectionString"/>.</summary>
    public Func<string, string?>? SiloConnectionString { get; init; }

    /// <summary>More command-line settings for every silo.</summary>
    public IReadOnlyList<string> ExtraArguments { get; init; } = [];

    /// <summary>
    /// HTTPS on every silo's API and TLS on its silo and gateway ports with these certificates (the node certificate,
    /// the test CA); the cluster's HTTP clients and Orleans clients trust the CA and present the node certificate.
    /// </summary>
    public TestCertificates? Tls { get; init; }

    /// <summary>Bound on starting the silos and on the membership forming.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(90);
}

/// <summary>One silo process of a <see cref="TestCluster"/>: its HTTP API, its Orleans gateway address, the process.</summary>
public sealed class ClusterSilo : IAsyncDisposable
{
    internal ClusterSilo(string name, int siloPort, int gatewayPort, string connectionString, NodeProcess process, TestCertificates? tls)
    {
        Name = name;
        SiloPort = siloPort;
        GatewayPort = gatewayPort;
        GatewayAddress = $"127.0.0.1:{gatewayPort}";
        ConnectionString = connectionString;
        Process = process;
        Http = TestSecurity.Client(process.BaseAddress, TimeSpan.FromSeconds(60), handler: tls?.TrustingHandler());
    }

    /// <summary>The silo-to-silo port (Node:SiloPort) and the gateway port (Node:GatewayPort), on 127.0.0.1.</summary>
    public int SiloPort { get; }
    public int GatewayPort { get; }

    /// <summary>The node name (Node:Name): node-0, node-1, …</summary>
    public string Name { get; }

    public Uri BaseAddress => Process.BaseAddress;

    /// <summary>A client of this silo's HTTP API (60 s timeout).</summary>
    public HttpClient Http { get; }

    /// <summary>host:port of the silo's Orleans gateway (Node:GatewayPort), where clients connect.</summary>
    public string GatewayAddress { get; }

    /// <summary>How this silo reaches the database.</summary>
    public string ConnectionString { get; }

    public NodeProcess Process { get; }

    public bool IsRunning => !Process.HasExited;

    public override string ToString() => $"{Name} (http {BaseAddress}, gateway {GatewayAddress}, pid {Process.ProcessId})";

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Process.DisposeAsync();
    }
}

/// <summary>
/// Several silo processes (the real Silo executable) on 127.0.0.1 over one PostgreSQL database, as an operator
/// would run them: started in parallel, each with its own HTTP, silo and gateway port; a test kills (SIGKILL), stops
/// (SIGTERM) or adds silos and asserts on HTTP answers, SDK calls and Postgres rows. Every wait is bounded;
/// disposal kills whatever still runs and drops the database it created.
/// </summary>
public sealed class TestCluster : IAsyncDisposable
{
    private readonly List<ClusterSilo> _silos = new();
    private readonly List<TrainedModelsConnection> _clients = new();
    private readonly TestDatabase? _ownDatabase;
    private readonly NpgsqlDataSource? _ownDataSource;
    private readonly ITestOutputHelper? _output;
    private readonly string _dataDirectory = TestRunDirectory.CreateScratchDirectory("cluster");
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private TrainedModelsConnection? _client;

    private TestCluster(TestClusterOptions options, string connectionString, TestDatabase? ownDatabase, ITestOutputHelper? output)
    {
        Options = options;
        ConnectionString = connectionString;
        _ownDatabase = ownDatabase;
        _output = output;
        if (ownDatabase is null) _ownDataSource = NpgsqlDataSource.Create(connectionString);
    }

    public TestClusterOptions Options { get; }

    public static readonly TimeSpan ClientResponseTimeout = TimeSpan.FromSeconds(5);

    /// <summary>The shared database, as the test reaches it directly.</summary>
    public string ConnectionString { get; }

    /// <summary>For SQL assertions on the cluster's tables.</summary>
    public NpgsqlDataSource DataSource => _ownDatabase?.DataSource ?? _ownDataSource!;

    /// <summary>Every silo started so far, in start order (killed and stopped ones included).</summary>
    public IReadOnlyList<ClusterSilo> Silos => _silos;

    public ClusterSilo this[int index] => _silos[index];

    /// <summary>The silos whose process still runs.</summary>
    public IReadOnlyList<ClusterSilo> Running => _silos.Where(s => s.IsRunning).ToArray();

    /// <summary>An Orleans client over the gateways of the silos running when it is first asked for.</summary>
    public async Task<IClusterClient> ClientAsync() => (_client ??= await CreateClientAsync(Running.ToArray())).Client;

    public static async Task<TestCluster> StartAsync(TestClusterOptions? options = null, ITestOutputHelper? output = null)
    {
        options ??= new TestClusterOptions();
        TestDatabase? database = null;
        if (options.ConnectionString is null) database = await TestDatabase.CreateAsync("cluster");
        var cluster = new TestCluster(options, options.ConnectionString ?? database!.ConnectionString, database, output);
        try
        {
            var launches = Enumerable.Range(0, options.Silos).Select(i => cluster.LaunchAsync($"node-{i}")).ToArray();
            try { await Task.WhenAll(launches); }
            finally
            {
                // In name order, so that cluster[i] is node-i; started ones are disposed with the cluster even if another failed.
                cluster._silos.AddRange(launches.Where(l => l.IsCompletedSuccessfully).Select(l => l.Result));
            }
            await cluster.WaitUntilFormedAsync();
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>A new silo process (a new name, or the name of one that is gone: its next generation); returns once the cluster has taken it in.</summary>
    public async Task<ClusterSilo> StartSiloAsync(string name)
    {
        var silo = await LaunchAsync(name);
        _silos.Add(silo);
        await WaitUntilFormedAsync();
        return silo;
    }

    /// <summary>SIGKILL: the silo writes nothing more; peers learn of it only through the death timeout.</summary>
    public async Task KillAsync(int index)
    {
        await _silos[index].Process.KillAsync();
        Log($"killed {_silos[index].Name} (SIGKILL)");
    }

    /// <summary>SIGTERM: the silo leaves gracefully.</summary>
    public async Task StopAsync(int index)
    {
        await _silos[index].Process.StopAsync();
        Log($"stopped {_silos[index].Name} (SIGTERM), exit code {_silos[index].Process.ExitCode}");
    }

    /// <summary>
    /// An Orleans client (the SDK) over these silos' gateways; disposed with the cluster. Its response timeout is
    /// <see cref="ClientResponseTimeout"/>: a call in flight on a gateway that is killed ends within it.
    /// </summary>
    public async Task<TrainedModelsConnection> CreateClientAsync(params ClusterSilo[] gateways)
    {
        var client = await TrainedModelsClient.ConnectAsync(gateways.Select(g => g.GatewayAddress), c =>
            {
                c.Configure<Orleans.Configuration.ClientMessagingOptions>(o => o.ResponseTimeout = ClientResponseTimeout);
                if (Options.Tls is { } tls) c.UseTrainedModelsTls(new TransportTls(tls.Node, [tls.Authority]));
            })
            .WaitAsync(TimeSpan.FromSeconds(60));
        lock (_clients) _clients.Add(client);
        return client;
    }

    /// <summary>
    /// Waits until every running silo's newest generation is Active in Orleans' membership table and the node is
    /// part of the ML plan (node_capacity). Orleans admits a silo as Active only once it reached every active peer.
    /// </summary>
    public async Task WaitUntilFormedAsync(TimeSpan? bound = null)
    {
        var silos = Running;
        var names = silos.Select(s => s.Name).ToArray();
        await WaitUntilAsync(async () =>
        {
            if (silos.FirstOrDefault(s => !s.IsRunning) is { } gone)
                throw new InvalidOperationException($"{gone.Name} exited with {gone.Process.ExitCode} while the cluster formed\n{gone.Process.OutputTail()}");
            var active = await ScalarAsync<long>("""
                SELECT count(*) FROM (SELECT DISTINCT ON (siloname) siloname, status FROM orleansmembershiptable WHERE siloname = ANY($1)
                                      ORDER BY siloname, generation DESC) newest
                WHERE status = 3
                """, (object)names);
            var planned = await ScalarAsync<long>("SELECT count(*) FROM node_capacity WHERE node = ANY($1)", (object)names);
            return active == names.Length && planned == names.Length;
        }, bound ?? Options.StartTimeout, () => $"the cluster did not form with {string.Join(", ", names)}");
        Log($"formed: {string.Join(", ", names)}");
    }

    /// <summary>Waits until Orleans has declared the silo's newest generation Dead (status 6 in its membership table).</summary>
    public async Task WaitUntilDeclaredDeadAsync(int index, TimeSpan bound)
    {
        var name = _silos[index].Name;
        await WaitUntilAsync(async () => await ScalarAsync<int>(
                "SELECT status FROM orleansmembershiptable WHERE siloname = $1 ORDER BY generation DESC LIMIT 1", name) == 6,
            bound, () => $"{name} was not declared dead");
        Log($"{name} declared dead");
    }

    /// <summary>The first column of the first row of <paramref name="sql"/> ($1, $2, … parameters), converted to T.</summary>
    public async Task<T?> ScalarAsync<T>(string sql, params object[] args)
    {
        await CommittedRows.WaitAsync(DataSource);
        await using var command = DataSource.CreateCommand(sql);
        foreach (var arg in args) command.Parameters.Add(new NpgsqlParameter { Value = arg });
        var value = await command.ExecuteScalarAsync();
        if (value is null or DBNull) return default;
        if (value is T typed) return typed;
        return (T)Convert.ChangeType(value, Nullable.GetUnderlyingType(typeof(T)) ?? typeof(T), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Every row of <paramref name="sql"/>, its columns joined with '|', for assertions and messages.</summary>
    public async Task<List<string>> RowsAsync(string sql, params object[] args)
    {
        await CommittedRows.WaitAsync(DataSource);
        await using var command = DataSource.CreateCommand(sql);
        foreach (var arg in args) command.Parameters.Add(new NpgsqlParameter { Value = arg });
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<string>();
        while (await reader.ReadAsync())
            rows.Add(string.Join('|', Enumerable.Range(0, reader.FieldCount).Select(i => reader.IsDBNull(i) ? "null" : Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture))));
        return rows;
    }

    /// <summary>Polls <paramref name="condition"/> every 100 ms until it holds; throws with <paramref name="what"/> and the silos' last output after <paramref name="bound"/>.</summary>
    public async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan bound, Func<string> what)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(bound.TotalSeconds * Stopwatch.Frequency);
        Exception? last = null;
        while (true)
        {
            try
            {
                if (await condition()) return;
                last = null;
            }
            catch (Exception e) when (e is NpgsqlException or HttpRequestException or TaskCanceledException or TimeoutException)
            {
                last = e;
            }
            if (Stopwatch.GetTimestamp() > deadline)
                throw new TimeoutException($"{what()} within {bound.TotalSeconds:0.#} s{(last is null ? "" : $" (last error: {last.Message})")}\n{OutputTails()}");
            await Task.Delay(100);
        }
    }

    /// <summary>The last lines every silo wrote.</summary>
    public string OutputTails(int lines = 30) => string.Join('\n', _silos.Select(s => s.Process.OutputTail(lines)));

    /// <summary>Writes a line, with the time since the cluster started, to the test's output.</summary>
    public void Log(string message)
    {
        try { _output?.WriteLine($"[{_clock.Elapsed.TotalSeconds,7:0.000} s] {message}"); }
        catch (InvalidOperationException) { /* the test has finished */ }
    }

    public async ValueTask DisposeAsync()
    {
        TrainedModelsConnection[] clients;
        lock (_clients) clients = _clients.ToArray();
        foreach (var client in clients)
        {
            try { await client.DisposeAsync(); }
            catch (Exception e) { Log($"disposing a client: {e.Message}"); }
        }
        Log(OutputTails(200));
        await Task.WhenAll(_silos.Select(s => s.DisposeAsync().AsTask()));
        if (_ownDataSource is not null) await _ownDataSource.DisposeAsync();
        if (_ownDatabase is not null) await _ownDatabase.DisposeAsync();
        try { Directory.Delete(_dataDirectory, recursive: true); } catch (IOException) { }
    }

    private async Task<ClusterSilo> LaunchAsync(string name)
    {
        var httpPort = NodeProcess.FreePort();
        var (siloPort, gatewayPort) = (NodeProcess.FreePort(), NodeProcess.FreePort());
        var connectionString = Options.SiloConnectionString?.Invoke(name) ?? ConnectionString;
        var dataDirectory = Directory.CreateDirectory(Path.Combine(_dataDirectory, $"{name}-{Guid.NewGuid():N}"[..(name.Length + 9)])).FullName;
        string[] args =
        [
            $"--ConnectionStrings:Postgres={connectionString}",
            $"--Node:Name={name}",
            $"--Node:SiloPort={siloPort}",
            $"--Node:GatewayPort={gatewayPort}",
            $"--Node:Processors={Options.Processors}",
            "--Node:MemoryBytes=17179869184",
            $"--Ml:NodeCheckInterval={Options.NodeCheckInterval:c}",
            $"--DataDirectory={dataDirectory}",
            "--Logging:LogLevel:Default=Warning",
            "--Logging:LogLevel:TrainedModelsOrleans=Information",
            "--Logging:LogLevel:Microsoft.Hosting.Lifetime=Warning",
            .. Options.Tls?.NodeArguments ?? [],
            .. Options.ExtraArguments,
        ];
        var process = await NodeProcess.StartAsync(new Uri($"{(Options.Tls is null ? "http" : "https")}://127.0.0.1:{httpPort}"), args,
            Options.StartTimeout, Options.Tls is { } tls ? tls.TrustingHandler : null);
        var silo = new ClusterSilo(name, siloPort, gatewayPort, connectionString, process, Options.Tls);
        Log($"started {silo}");
        return silo;
    }
}
