using TrainedModelsOrleans.Grains.Models;
using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using Orleans;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Providers;
using Orleans.Serialization;
using Orleans.Storage;
using Orleans.TestingHost;
using Orleans.Transactions;
using TrainedModelsOrleans.Grains;
using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.ModelStore;
using TrainedModelsOrleans.Grains.Persistence;
using TrainedModelsOrleans.Grains.Serving;
using TrainedModelsOrleans.Grains.Wire;
using TrainedModelsOrleans.TestModels;
using TrainedModelsOrleans.TestSupport;
using Xunit;
using Xunit.Abstractions;

// One cluster (two silos) at a time: the machine's two cores are shared, and racing tests want them.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace TrainedModelsOrleans.ControlPlane.Tests;

/// <summary>
/// The control plane's grains on an Orleans <see cref="InProcessTestCluster"/> of two silos (each an ML node), with the
/// production storage wiring of SiloHost: Orleans' ADO.NET storage "postgres" on a fresh <see cref="TestDatabase"/>,
/// wrapped by <see cref="TypeScopedGrainStorage"/> as the default provider, the System.Text.Json storage serializer,
/// the product's serializers, transactions, and <c>AddTrainedModelGrains</c> with a <see cref="LocalNode"/> named after
/// its silo (so <c>[SiloNamePlacement]</c> finds it). Membership is ADO.NET clustering on the same database, so the
/// <c>node_capacity</c> view (which keeps only nodes whose silo is Active in OrleansMembershipTable) sees the nodes as
/// it does in production; transport stays the test cluster's in-memory one. One cluster per test class.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ControlPlaneCluster : IAsyncLifetime
{
    /// <summary>Every wait in these tests is bounded by this.</summary>
    public static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    public const long NodeMemoryBytes = 16L << 30;

    private readonly Dictionary<string, LocalNode> _nodes = new(StringComparer.Ordinal);

    public TestDatabase Database { get; private set; } = null!;

    public InProcessTestCluster Cluster { get; private set; } = null!;

    /// <summary>Warnings and errors of the silos and the client go to the current test's output.</summary>
    public TestOutputLoggerProvider Log { get; } = new(LogLevel.Warning);

    public TimeSpan StartTime { get; private set; }

    /// <summary>The ML nodes, by name (= silo name): Silo_0 offers 4 processors, Silo_1 2.</summary>
    public IReadOnlyList<LocalNode> Nodes
    {
        get
        {
            lock (_nodes) return _nodes.Values.OrderBy(n => n.Name, StringComparer.Ordinal).ToArray();
        }
    }

    public IClusterClient Client => Cluster.Client;

    public ITransactionClient Transactions => Client.ServiceProvider.GetRequiredService<ITransactionClient>();

    public NpgsqlDataSource DataSource => Database.DataSource;

    public static int ProcessorsOf(string siloName) => siloName.EndsWith("_0", StringComparison.Ordinal) ? 4 : 2;

    public async Task InitializeAsync()
    {
        var clock = Stopwatch.StartNew();
        Database = await TestDatabase.CreateAsync("controlplane");
        var connectionString = Database.ConnectionString;

        var builder = new InProcessTestClusterBuilder(2);
        builder.Options.ConfigureFileLogging = false;
        // ADO.NET clustering instead of the test cluster's in-memory membership table (see the class summary). The switch
        // is internal in TestingHost 10.4.2 (it is public in Orleans' current source), hence reflection.
        UseAdoNetMembership(builder.Options);
        // As SiloHost: Orleans' distributed grain directory (a dead silo's partitions are rebuilt, not its registrations' grains deactivated).
#pragma warning disable ORLEANSEXP003
        builder.Options.UseDistributedGrainDirectory = true;
#pragma warning restore ORLEANSEXP003
        builder.ConfigureSiloHost((_, host) => host.Logging.ClearProviders().SetMinimumLevel(LogLevel.Warning).AddProvider(Log));
        builder.ConfigureClientHost(host => host.Logging.ClearProviders().SetMinimumLevel(LogLevel.Warning).AddProvider(Log));
        builder.ConfigureSilo((options, silo) =>
        {
            // The test cluster names each silo (Silo_0, Silo_1) and sets SiloOptions.SiloName to it; the ML node's name must equal it.
            var node = new LocalNode(options.SiloName, ProcessorsOf(options.SiloName), NodeMemoryBytes);
            lock (_nodes) _nodes[node.Name] = node;
            silo.Configure<SiloOptions>(o => o.SiloName = node.Name);
            silo.UseAdoNetClustering(o => (o.Invariant, o.ConnectionString) = ("Npgsql", connectionString));
            // As SiloHost: ADO.NET storage "postgres", wrapped by TypeScopedGrainStorage as the default provider.
            silo.AddAdoNetGrainStorage("postgres", o => (o.Invariant, o.ConnectionString) = ("Npgsql", connectionString));
            silo.Services.AddKeyedSingleton<IGrainStorage>(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME,
                (sp, _) => new TypeScopedGrainStorage(sp.GetRequiredKeyedService<IGrainStorage>("postgres")));
            silo.Services.AddSingleton(sp => sp.GetRequiredKeyedService<IGrainStorage>(ProviderConstants.DEFAULT_STORAGE_PROVIDER_NAME));
            silo.UseSystemTextJsonGrainStorageSerializer();
            silo.Services.AddSerializer(s => s.AddTrainedModelsSerializers());
            silo.Services.AddSingleton(Database.DataSource);
            silo.AddTrainedModelGrains(node, new MlSettings());
        });
        builder.ConfigureClient(client =>
        {
            client.UseAdoNetClustering(o => (o.Invariant, o.ConnectionString) = ("Npgsql", connectionString));
            client.UseTransactions();
            client.Services.AddSerializer(s => s.AddTrainedModelsSerializers());
        });

        Cluster = builder.Build();
        await Cluster.DeployAsync().WaitAsync(Bound);
        await WaitForNodesAsync();
        StartTime = clock.Elapsed;
    }

    private static void UseAdoNetMembership(InProcessTestClusterOptions options)
    {
        var property = typeof(InProcessTestClusterOptions).GetProperty("UseTestClusterMembership",
            System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic)
            ?? throw new InvalidOperationException("InProcessTestClusterOptions.UseTestClusterMembership not found: this TestingHost differs from 10.4.2");
        property.SetValue(options, false);
    }

    /// <summary>Both nodes joined the plan: each has its committed node-capacity row, and the node_capacity view lists it.</summary>
    private async Task WaitForNodesAsync()
    {
        var names = Nodes.Select(n => n.Name).ToArray();
        Assert.Equal(2, names.Length);
        await WaitUntilAsync(async () =>
            await Database.ScalarAsync<long>("SELECT count(*) FROM ml_committed_states('node-capacity') WHERE grain_key = ANY(@n)", ("n", names)) == 2
            && await Database.ScalarAsync<long>("SELECT count(*) FROM node_capacity WHERE node = ANY(@n)", ("n", names)) == 2,
            "both ML nodes to join the plan");
    }

    public async Task DisposeAsync()
    {
        try
        {
            if (Cluster is not null)
            {
                try { await Cluster.StopAllSilosAsync().WaitAsync(Bound); }
                finally { await Cluster.DisposeAsync(); }
            }
        }
        finally
        {
            if (Database is not null) await Database.DisposeAsync();
        }
    }

    public T Grain<T>(string key) where T : IGrainWithStringKey => Client.GetGrain<T>(key);

    /// <summary>
    /// Where calls may come from: the test cluster's client and each silo's own grain factory (as the API co-hosted on
    /// each node calls them). Racing calls take turns among these.
    /// </summary>
    public IReadOnlyList<IGrainFactory> Callers =>
        [Client, .. Cluster.Silos.Select(s => s.SiloHost.Services.GetRequiredService<IGrainFactory>())];

    /// <summary>An ONNX model with its whole definition uploaded, as the API tests upload one (config, then two parts).</summary>
    public async Task<string> UploadOnnxModelAsync(string prefix, string? id = null)
    {
        id ??= MlApi.NewId(prefix);
        var model = Grain<ITrainedModelGrain>(id);
        await model.Put(new PutTrainedModelRequest { ModelId = id, Config = ModelUploads.OnnxConfig() }).WaitAsync(Bound);
        var parts = ModelUploads.Parts(TestOnnxModels.Mlp(), 2);
        for (var i = 0; i < parts.Count; i++)
            await model.PutDefinitionPart(DefinitionPartRequest.Parse(id, i.ToString(System.Globalization.CultureInfo.InvariantCulture), parts[i].ToJsonString())).WaitAsync(Bound);
        return id;
    }

    /// <summary>A tree-ensemble model with its definition inline (not deployable; enough for aliases).</summary>
    public async Task<string> PutTreeModelAsync(string id)
    {
        await Grain<ITrainedModelGrain>(id).Put(new PutTrainedModelRequest { ModelId = id, Config = ModelUploads.TreeModel() }).WaitAsync(Bound);
        return id;
    }

    /// <summary>The committed state (CommittedState of the transactional record) of one grain state row, as JSON text; null if none.</summary>
    public async Task<string?> CommittedStateAsync(string stateName, string key)
    {
        await using var command = DataSource.CreateCommand("SELECT state::text FROM ml_committed_states(@s) WHERE grain_key = @k");
        command.Parameters.AddWithValue("s", stateName);
        command.Parameters.AddWithValue("k", key);
        await using var reader = await command.ExecuteReaderAsync();
        if (!await reader.ReadAsync()) return null;
        var text = reader.IsDBNull(0) ? null : reader.GetString(0);
        Assert.False(await reader.ReadAsync(), $"more than one {stateName} row for {key}");
        return text;
    }

    /// <summary>The rows of <paramref name="sql"/>, each as an array of column values.</summary>
    public async Task<List<object?[]>> RowsAsync(string sql, params (string Name, object? Value)[] args)
    {
        await using var command = DataSource.CreateCommand(sql);
        foreach (var (name, value) in args) command.Parameters.Add(new NpgsqlParameter(name, value ?? DBNull.Value));
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<object?[]>();
        while (await reader.ReadAsync())
        {
            var row = new object?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++) row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            rows.Add(row);
        }
        return rows;
    }

    /// <summary>Waits until no transactional row holds a prepared state, so the views show what committed.</summary>
    public Task CommittedAsync() => CommittedRows.WaitAsync(DataSource, Bound, confirmed: true);

    public static byte[] Json(JsonNode node) => Encoding.UTF8.GetBytes(node.ToJsonString());

    public static IReadOnlyDictionary<string, string?> Query(params (string Name, string? Value)[] pairs) =>
        pairs.ToDictionary(p => p.Name, p => p.Value, StringComparer.Ordinal);

    /// <summary>A valid alias (and model id): ES's alias pattern wants a letter at the end.</summary>
    public static string AliasId(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 17)] + "-a";

    /// <summary>The Elasticsearch refusal a failure carries: itself, or inside Orleans' transaction exceptions.</summary>
    public static ElasticsearchException? Refusal(Exception? error)
    {
        for (var e = error; e is not null; e = e.InnerException)
        {
            if (e is ElasticsearchException refusal) return refusal;
            if (e is AggregateException { InnerExceptions.Count: 1 } aggregate) return Refusal(aggregate.InnerExceptions[0]);
        }
        return null;
    }

    /// <summary>Runs <paramref name="call"/> within <see cref="Bound"/>: null when it succeeded, else its error.</summary>
    public static async Task<Exception?> OutcomeAsync(Func<Task> call)
    {
        try
        {
            await Task.Run(call).WaitAsync(Bound);
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }

    public static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > Bound) throw new TimeoutException($"Timed out after {Bound} waiting for {what}");
            await Task.Delay(50);
        }
    }
}

/// <summary>Logs to whichever test's output is current (tests run one at a time).</summary>
public sealed class TestOutputLoggerProvider(LogLevel minimumLevel) : ILoggerProvider
{
    public ITestOutputHelper? Output { get; set; }

    public ILogger CreateLogger(string categoryName) => new Forwarder(this, categoryName, minimumLevel);

    public void Dispose() { }

    private sealed class Forwarder(TestOutputLoggerProvider provider, string category, LogLevel minimumLevel) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= minimumLevel && provider.Output is not null;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel) || provider.Output is not { } output) return;
            new TestOutputLogger(output, minimumLevel).Log(logLevel, eventId, state, exception, (s, e) => $"[{category}] {formatter(s, e)}");
        }
    }
}
