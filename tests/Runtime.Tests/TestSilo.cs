using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using TrainedModelsOrleans.Runtime.Cluster;
using TrainedModelsOrleans.Runtime.Configuration;
using TrainedModelsOrleans.Runtime.Hosting;
using TrainedModelsOrleans.Runtime.Persistence;
using TrainedModelsOrleans.Runtime.Transactions;
using TrainedModelsOrleans.TestSupport;
using Xunit;

namespace TrainedModelsOrleans.Runtime.Tests;

/// <summary>One database per test class (xunit class fixture).</summary>
public sealed class RuntimeDatabase : IAsyncLifetime
{
    public TestDatabase Db { get; private set; } = null!;
    public NpgsqlDataSource DataSource => Db.DataSource;

    public async Task InitializeAsync() => Db = await TestDatabase.CreateAsync("runtime");
    public async Task DisposeAsync() => await Db.DisposeAsync();

    public async Task<long> CountAsync(string sql, params object[] args)
    {
        await using var command = DataSource.CreateCommand(sql);
        foreach (var arg in args) command.Parameters.Add(new NpgsqlParameter { Value = arg });
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }
}

/// <summary>A started silo over a test database, with the test grains of this assembly.</summary>
public sealed class TestSilo : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    private TestSilo(ServiceProvider services, Silo silo, GrainStateStore store)
    {
        _services = services;
        Silo = silo;
        Store = store;
    }

    public Silo Silo { get; }
    public GrainStateStore Store { get; }
    public IGrainFactory Grains => Silo;

    public static async Task<TestSilo> StartAsync(NpgsqlDataSource dataSource, Action<GrainRuntimeOptions>? configure = null,
        string siloName = "test-silo", Action<SiloOptions>? configureSilo = null)
    {
        var options = new GrainRuntimeOptions();
        configure?.Invoke(options);
        var siloOptions = new SiloOptions { SiloName = siloName, Address = "127.0.0.1:0", AllocatedProcessors = 2, MemoryBytes = 1L << 30 };
        configureSilo?.Invoke(siloOptions);
        var services = new ServiceCollection().AddLogging().AddSingleton(new SiloName(siloName)).BuildServiceProvider();
        var storage = new GrainStorage(dataSource);
        var silo = new Silo(dataSource, storage, services, options, siloOptions,
            [typeof(TestSilo).Assembly], NullLogger<Silo>.Instance, RuntimeExceptionCodecs.Serializer(null, [new GrainFaultCodec()]));
        await silo.StartAsync(CancellationToken.None);
        return new TestSilo(services, silo, new GrainStateStore(storage));
    }

    public async ValueTask DisposeAsync()
    {
        await Silo.DisposeAsync();
        await _services.DisposeAsync();
    }
}

/// <summary>The name of the silo a test grain runs on (each test silo has its own services).</summary>
public sealed record SiloName(string Value);
