using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Orleans;
using Orleans.Configuration;
using Orleans.Hosting;
using Orleans.Messaging;
using Orleans.Runtime;
using Orleans.Storage;
using Orleans.Transactions;
using TrainedModelsOrleans.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace TrainedModelsOrleans.Storage.Tests;

/// <summary>
/// A real Orleans 10.4.2 silo on the db/ schema (db/0005_orleans.sql): ADO.NET clustering, ADO.NET grain
/// storage with the System.Text.Json serializer, and transactions over that storage. Every test reads
/// the rows back with SQL. One silo ("schema-a") serves the class; tests use keys of their own.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class OrleansSchemaTests : IClassFixture<OrleansSiloFixture>, IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private readonly OrleansSiloFixture _silo;
    private readonly ITestOutputHelper _output;

    public OrleansSchemaTests(OrleansSiloFixture silo, ITestOutputHelper output)
    {
        _silo = silo;
        _output = output;
        silo.Log.Output = output;
        output.WriteLine($"silo {silo.A.Name} started in {silo.A.StartTime.TotalMilliseconds:F0} ms " +
                         $"(silo port {silo.A.SiloPort}, gateway {silo.A.GatewayPort})");
    }

    public void Dispose() => _silo.Log.Output = null;

    private TestDatabase Db => _silo.Database;

    private IGrainFactory Grains => _silo.A.Host.Services.GetRequiredService<IGrainFactory>();

    private IGrainStorage Storage(string name = "Default") => _silo.A.Host.Services.GetRequiredKeyedService<IGrainStorage>(name);

    [Fact]
    public async Task Silo_membership_row_is_Active_with_its_name_and_endpoints()
    {
        await using var command = Db.DataSource.CreateCommand(
            "SELECT status, address, port, proxyport, generation FROM OrleansMembershipTable WHERE deploymentid = @c AND siloname = @n");
        command.Parameters.AddWithValue("c", OrleansSiloFixture.ClusterId);
        command.Parameters.AddWithValue("n", _silo.A.Name);
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync(), "no membership row for the silo");
        Assert.Equal(3, reader.GetInt32(0));                    // SiloStatus.Active
        Assert.Equal("127.0.0.1", reader.GetString(1));
        Assert.Equal(_silo.A.SiloPort, reader.GetInt32(2));
        Assert.Equal(_silo.A.GatewayPort, reader.GetInt32(3));
        Assert.True(reader.GetInt32(4) > 0);
        Assert.False(await reader.ReadAsync(), "more than one row for one silo incarnation");

        Assert.True(await Db.ScalarAsync<int>("SELECT version FROM OrleansMembershipVersionTable WHERE deploymentid = @c",
            ("c", OrleansSiloFixture.ClusterId)) >= 1);
    }

    [Fact]
    public async Task Grain_writes_readable_JSON_with_versions_1_then_2()
    {
        var key = $"json-{Guid.NewGuid():N}";
        var grain = Grains.GetGrain<ISchemaCounterGrain>(key);

        Assert.Equal("1", await grain.Add(2, "first").WaitAsync(Bound));
        var row = await ReadStateRowAsync(SchemaCounterGrain.StateName, key);
        Assert.Equal(1, row.Version);
        Assert.Equal(2, row.Json!.RootElement.GetProperty("Count").GetInt32());
        Assert.Equal("first", row.Json.RootElement.GetProperty("Label").GetString());
        Assert.False(row.Json.RootElement.TryGetProperty("$type", out _), row.Text);
        Assert.Equal(OrleansSiloFixture.ServiceId, row.ServiceId);

        Assert.Equal("2", await grain.Add(3, "second").WaitAsync(Bound));
        row = await ReadStateRowAsync(SchemaCounterGrain.StateName, key);
        Assert.Equal(2, row.Version);
        Assert.Equal(5, row.Json!.RootElement.GetProperty("Count").GetInt32());
        Assert.Equal("second", row.Json.RootElement.GetProperty("Label").GetString());
        _output.WriteLine($"row: version {row.Version}, {row.Text}");

        Assert.Equal(1, await Db.ScalarAsync<int>(
            "SELECT count(*) FROM OrleansStorage WHERE graintypestring = @s AND grainidextensionstring = @k",
            ("s", SchemaCounterGrain.StateName), ("k", key)));
    }

    [Fact]
    public async Task Write_after_the_row_moved_on_throws_InconsistentStateException_and_the_next_activation_recovers()
    {
        var key = $"bumped-{Guid.NewGuid():N}";
        var grain = Grains.GetGrain<ISchemaCounterGrain>(key);
        Assert.Equal("1", await grain.Add(1, "a").WaitAsync(Bound));

        // Another writer (a second activation, say) got there first.
        Assert.Equal(1, await Db.ExecuteAsync(
            "UPDATE OrleansStorage SET version = version + 1 WHERE graintypestring = @s AND grainidextensionstring = @k",
            ("s", SchemaCounterGrain.StateName), ("k", key)));

        var error = await Assert.ThrowsAsync<InconsistentStateException>(() => grain.Add(1, "stale").WaitAsync(Bound));
        _output.WriteLine(error.Message);
        var row = await ReadStateRowAsync(SchemaCounterGrain.StateName, key);
        Assert.Equal(2, row.Version);
        Assert.Equal("a", row.Json!.RootElement.GetProperty("Label").GetString());

        // The runtime deactivated that activation; the next one reads version 2 and writes 3.
        Assert.Equal("3", await grain.Add(1, "b").WaitAsync(Bound));
        row = await ReadStateRowAsync(SchemaCounterGrain.StateName, key);
        Assert.Equal(3, row.Version);
        Assert.Equal(2, row.Json!.RootElement.GetProperty("Count").GetInt32());
    }

    [Fact]
    public async Task Of_two_detached_writers_holding_one_version_the_second_gets_InconsistentStateException()
    {
        var storage = Storage();
        var id = GrainId.Create("schematestcounter", $"detached-{Guid.NewGuid():N}");
        await storage.WriteStateAsync(SchemaCounterGrain.StateName, id, new GrainState<CounterState>(new CounterState { Count = 1 })).WaitAsync(Bound);

        var first = new GrainState<CounterState>();
        var second = new GrainState<CounterState>();
        await storage.ReadStateAsync(SchemaCounterGrain.StateName, id, first).WaitAsync(Bound);
        await storage.ReadStateAsync(SchemaCounterGrain.StateName, id, second).WaitAsync(Bound);
        Assert.Equal("1", first.ETag);
        Assert.Equal("1", second.ETag);
        Assert.True(first.RecordExists);
        Assert.Equal(1, first.State!.Count);

        first.State!.Count = 10;
        await storage.WriteStateAsync(SchemaCounterGrain.StateName, id, first).WaitAsync(Bound);
        Assert.Equal("2", first.ETag);

        second.State!.Count = 20;
        await Assert.ThrowsAsync<InconsistentStateException>(
            () => storage.WriteStateAsync(SchemaCounterGrain.StateName, id, second).WaitAsync(Bound));
        // A first write (no ETag) onto an existing row is stale too.
        await Assert.ThrowsAsync<InconsistentStateException>(() => storage.WriteStateAsync(
            SchemaCounterGrain.StateName, id, new GrainState<CounterState>(new CounterState { Count = 30 })).WaitAsync(Bound));

        var row = await ReadStateRowAsync(SchemaCounterGrain.StateName, id.Key.ToString()!);
        Assert.Equal(2, row.Version);
        Assert.Equal(10, row.Json!.RootElement.GetProperty("Count").GetInt32());
    }

    /// <summary>
    /// The unique index on the logical key: a first write racing another first write of the same
    /// state waits for it and then fails as a stale write, where the reference schema's
    /// WHERE NOT EXISTS would have let both insert. The rival is held open in a SQL transaction, so the
    /// overlap is certain.
    /// </summary>
    [Fact]
    public async Task A_first_write_that_loses_to_a_concurrent_first_write_gets_InconsistentStateException_not_a_unique_violation()
    {
        var storage = Storage();
        var key = $"race-{Guid.NewGuid():N}";
        var id = GrainId.Create("schematestcounter", key);

        // Let the provider write once to learn the row's key columns (its hashes), then remove the row.
        await storage.WriteStateAsync(SchemaCounterGrain.StateName, id, new GrainState<CounterState>(new CounterState())).WaitAsync(Bound);
        const string KeyColumns = "grainidhash, grainidn0, grainidn1, graintypehash, graintypestring, grainidextensionstring, serviceid";
        var keyValues = new object?[7];
        await using (var read = Db.DataSource.CreateCommand(
            $"SELECT {KeyColumns} FROM OrleansStorage WHERE graintypestring = @s AND grainidextensionstring = @k"))
        {
            read.Parameters.AddWithValue("s", SchemaCounterGrain.StateName);
            read.Parameters.AddWithValue("k", key);
            await using var reader = await read.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            reader.GetValues(keyValues!);
        }
        await Db.ExecuteAsync("DELETE FROM OrleansStorage WHERE graintypestring = @s AND grainidextensionstring = @k",
            ("s", SchemaCounterGrain.StateName), ("k", key));

        await using var rival = await Db.DataSource.OpenConnectionAsync();
        await using var transaction = await rival.BeginTransactionAsync();
        await using (var insert = new NpgsqlCommand(
            "SELECT writetostorage($1, $2, $3, $4, $5, $6, $7, NULL, convert_to('{\"Count\":100,\"Label\":\"rival\"}', 'UTF8'))",
            rival, transaction))
        {
            foreach (var value in keyValues) insert.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value });
            Assert.Equal(1, await insert.ExecuteScalarAsync());
        }

        var loser = storage.WriteStateAsync(SchemaCounterGrain.StateName, id,
            new GrainState<CounterState>(new CounterState { Count = 1, Label = "loser" }));
        await WaitUntilAsync(async () => loser.IsCompleted || await Db.ScalarAsync<long>(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'") > 0,
            "the provider's insert to wait for the rival's row");
        Assert.False(loser.IsCompleted, $"The first write did not wait for the rival's uncommitted row: {loser.Status} {loser.Exception?.InnerException?.Message}");

        await transaction.CommitAsync();
        var error = await Assert.ThrowsAsync<InconsistentStateException>(() => loser.WaitAsync(Bound));
        _output.WriteLine(error.Message);

        Assert.Equal(1, await Db.ScalarAsync<int>(
            "SELECT count(*) FROM OrleansStorage WHERE graintypestring = @s AND grainidextensionstring = @k",
            ("s", SchemaCounterGrain.StateName), ("k", key)));
        var row = await ReadStateRowAsync(SchemaCounterGrain.StateName, key);
        Assert.Equal("rival", row.Json!.RootElement.GetProperty("Label").GetString());
        var state = new GrainState<CounterState>();
        await storage.ReadStateAsync(SchemaCounterGrain.StateName, id, state).WaitAsync(Bound);
        Assert.Equal(100, state.State!.Count);
    }

    [Fact]
    public async Task Of_concurrent_first_writers_exactly_one_wins_and_one_row_remains()
    {
        var storage = Storage();
        var key = $"many-{Guid.NewGuid():N}";
        var id = GrainId.Create("schematestcounter", key);

        var writes = Enumerable.Range(1, 8).Select(i => Task.Run(() => storage.WriteStateAsync(
            SchemaCounterGrain.StateName, id, new GrainState<CounterState>(new CounterState { Count = i })))).ToArray();
        try { await Task.WhenAll(writes).WaitAsync(Bound); }
        catch (InconsistentStateException) { }

        Assert.Equal(1, writes.Count(w => w.IsCompletedSuccessfully));
        Assert.All(writes.Where(w => !w.IsCompletedSuccessfully),
            w => Assert.IsType<InconsistentStateException>(w.Exception!.InnerException));
        Assert.Equal(1, await Db.ScalarAsync<int>(
            "SELECT count(*) FROM OrleansStorage WHERE graintypestring = @s AND grainidextensionstring = @k",
            ("s", SchemaCounterGrain.StateName), ("k", key)));
    }

    [Fact]
    public async Task Clear_keeps_a_versioned_empty_row_and_DeleteStateOnClear_removes_it()
    {
        var id = GrainId.Create("schematestcounter", $"clear-{Guid.NewGuid():N}");
        var key = id.Key.ToString()!;

        var kept = Storage();
        var state = new GrainState<CounterState>(new CounterState { Count = 7 });
        await kept.WriteStateAsync(SchemaCounterGrain.StateName, id, state).WaitAsync(Bound);
        await kept.ClearStateAsync(SchemaCounterGrain.StateName, id, state).WaitAsync(Bound);
        Assert.Equal("2", state.ETag);
        Assert.False(state.RecordExists);
        var row = await ReadStateRowAsync(SchemaCounterGrain.StateName, key);
        Assert.Equal(2, row.Version);
        Assert.Null(row.Json);
        var reread = new GrainState<CounterState>();
        await kept.ReadStateAsync(SchemaCounterGrain.StateName, id, reread).WaitAsync(Bound);
        Assert.Equal("2", reread.ETag);
        Assert.False(reread.RecordExists);
        reread.State!.Count = 8;
        await kept.WriteStateAsync(SchemaCounterGrain.StateName, id, reread).WaitAsync(Bound);
        Assert.Equal("3", reread.ETag);

        const string Deleted = "schema-test-deleted";
        var deleting = Storage(OrleansSiloFixture.DeleteOnClearStorage);
        state = new GrainState<CounterState>(new CounterState { Count = 9 });
        await deleting.WriteStateAsync(Deleted, id, state).WaitAsync(Bound);
        await deleting.ClearStateAsync(Deleted, id, state).WaitAsync(Bound);
        Assert.Null(state.ETag);
        Assert.Equal(0, await Db.ScalarAsync<int>(
            "SELECT count(*) FROM OrleansStorage WHERE graintypestring = @s AND grainidextensionstring = @k", ("s", Deleted), ("k", key)));
        await deleting.WriteStateAsync(Deleted, id, state).WaitAsync(Bound);
        Assert.Equal("1", state.ETag);
    }

    [Fact]
    public async Task Transfer_transaction_commits_and_a_throwing_participant_aborts_both_accounts()
    {
        var from = $"acct-{Guid.NewGuid():N}";
        var to = $"acct-{Guid.NewGuid():N}";
        await Grains.GetGrain<ISchemaAccountGrain>(from).Deposit(100).WaitAsync(Bound);
        var transfer = Grains.GetGrain<ISchemaTransferGrain>(0);

        var clock = Stopwatch.StartNew();
        await transfer.Transfer(from, to, 30).WaitAsync(Bound);
        _output.WriteLine($"transfer committed in {clock.Elapsed.TotalMilliseconds:F1} ms");
        Assert.Equal(70, await Grains.GetGrain<ISchemaAccountGrain>(from).GetBalance().WaitAsync(Bound));
        Assert.Equal(30, await Grains.GetGrain<ISchemaAccountGrain>(to).GetBalance().WaitAsync(Bound));
        await WaitForCommittedBalancesAsync(from, 70, to, 30);

        // The deposit into `to` runs first, then the withdrawal throws: both must be undone.
        var error = await Assert.ThrowsAsync<OrleansTransactionAbortedException>(() => transfer.Transfer(from, to, 1000).WaitAsync(Bound));
        _output.WriteLine($"{error.GetType().Name}: {error.Message} / {error.InnerException?.GetType().Name}: {error.InnerException?.Message}");
        Assert.IsType<InvalidOperationException>(error.InnerException);
        Assert.Equal(70, await Grains.GetGrain<ISchemaAccountGrain>(from).GetBalance().WaitAsync(Bound));
        Assert.Equal(30, await Grains.GetGrain<ISchemaAccountGrain>(to).GetBalance().WaitAsync(Bound));
        await WaitForCommittedBalancesAsync(from, 70, to, 30);
        foreach (var account in new[] { from, to })
        {
            var row = await ReadStateRowAsync(SchemaAccountGrain.StateName, account);
            _output.WriteLine($"{account}: version {row.Version}, {row.Text}");
            Assert.Equal(0, row.Json!.RootElement.GetProperty("PendingStates").GetArrayLength());
        }
    }

    [Fact]
    public async Task Second_silo_joins_and_an_AdoNet_client_finds_both_gateways_and_calls_a_grain()
    {
        SiloHandle? b = null;
        IHost? client = null;
        try
        {
            var clock = Stopwatch.StartNew();
            b = await OrleansSiloFixture.StartSiloAsync(Db.ConnectionString, "schema-b", _silo.Log);
            _output.WriteLine($"silo {b.Name} started and joined in {b.StartTime.TotalMilliseconds:F0} ms " +
                              $"(silo port {b.SiloPort}, gateway {b.GatewayPort})");

            Assert.Equal(3, await Db.ScalarAsync<int>(
                "SELECT status FROM OrleansMembershipTable WHERE deploymentid = @c AND siloname = @n",
                ("c", OrleansSiloFixture.ClusterId), ("n", b.Name)));
            var membership = _silo.A.Host.Services.GetRequiredService<IClusterMembershipService>();
            await WaitUntilAsync(() => Task.FromResult(membership.CurrentSnapshot.Members.Values.Any(
                m => m.Name == b.Name && m.Status == SiloStatus.Active)), $"silo {_silo.A.Name} to see {b.Name} active");
            _output.WriteLine($"{_silo.A.Name} saw {b.Name} active {clock.Elapsed.TotalMilliseconds:F0} ms after its start began");

            var builder = Host.CreateApplicationBuilder();
            builder.Logging.ClearProviders().SetMinimumLevel(LogLevel.Warning).AddProvider(_silo.Log);
            builder.UseOrleansClient(c =>
            {
                c.Configure<ClusterOptions>(o => { o.ClusterId = OrleansSiloFixture.ClusterId; o.ServiceId = OrleansSiloFixture.ServiceId; });
                c.UseAdoNetClustering(o => { o.Invariant = "Npgsql"; o.ConnectionString = Db.ConnectionString; });
                c.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(10));
            });
            client = builder.Build();
            clock.Restart();
            using (var start = new CancellationTokenSource(Bound)) await client.StartAsync(start.Token);
            _output.WriteLine($"client connected in {clock.Elapsed.TotalMilliseconds:F0} ms");

            // GatewaysQueryKey, as the client ran it.
            var gateways = client.Services.GetRequiredService<IGatewayListProvider>();
            var uris = await gateways.GetGateways().WaitAsync(Bound);
            Assert.Equal(new[] { _silo.A.GatewayPort, b.GatewayPort }.Order(), uris.Select(u => u.Port).Order());

            var cluster = client.Services.GetRequiredService<IClusterClient>();
            var hosts = await cluster.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true).WaitAsync(Bound);
            Assert.Equal(2, hosts.Count);

            var key = $"client-{Guid.NewGuid():N}";
            Assert.Equal("1", await cluster.GetGrain<ISchemaCounterGrain>(key).Add(4, "via client").WaitAsync(Bound));
            var row = await ReadStateRowAsync(SchemaCounterGrain.StateName, key);
            Assert.Equal(4, row.Json!.RootElement.GetProperty("Count").GetInt32());
        }
        finally
        {
            if (client is not null) await OrleansSiloFixture.StopAsync(client);
            if (b is not null)
            {
                var clock = Stopwatch.StartNew();
                await OrleansSiloFixture.StopAsync(b.Host);
                _output.WriteLine($"silo {b.Name} stopped in {clock.Elapsed.TotalMilliseconds:F0} ms");
            }
        }
        // A graceful stop leaves the row Dead (6).
        Assert.Equal(6, await Db.ScalarAsync<int>(
            "SELECT status FROM OrleansMembershipTable WHERE deploymentid = @c AND siloname = 'schema-b'", ("c", OrleansSiloFixture.ClusterId)));
    }

    private sealed record StateRow(int Version, string ServiceId, string? Text, System.Text.Json.JsonDocument? Json);

    private async Task<StateRow> ReadStateRowAsync(string stateName, string key)
    {
        await using var command = Db.DataSource.CreateCommand(
            "SELECT version, serviceid, convert_from(payloadbinary, 'UTF8')::jsonb::text FROM OrleansStorage " +
            "WHERE graintypestring = @s AND grainidextensionstring = @k");
        command.Parameters.AddWithValue("s", stateName);
        command.Parameters.AddWithValue("k", key);
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync(), $"no OrleansStorage row for {stateName}/{key}");
        var text = reader.IsDBNull(2) ? null : reader.GetString(2);
        var row = new StateRow(reader.GetInt32(0), reader.GetString(1), text, text is null ? null : System.Text.Json.JsonDocument.Parse(text));
        Assert.False(await reader.ReadAsync(), $"more than one OrleansStorage row for {stateName}/{key}");
        return row;
    }

    /// <summary>Committed balances as stored; a participant may confirm its commit just after the caller returns.</summary>
    private async Task WaitForCommittedBalancesAsync(string a, int balanceA, string b, int balanceB)
    {
        async Task<int?> CommittedAsync(string account) => await Db.ScalarAsync<int?>(
            "SELECT (convert_from(payloadbinary, 'UTF8')::jsonb -> 'CommittedState' ->> 'Value')::int FROM OrleansStorage " +
            "WHERE graintypestring = @s AND grainidextensionstring = @k", ("s", SchemaAccountGrain.StateName), ("k", account));
        await WaitUntilAsync(async () => await CommittedAsync(a) == balanceA && await CommittedAsync(b) == balanceB,
            $"stored balances {balanceA}/{balanceB}");
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            if (deadline.Elapsed > TimeSpan.FromSeconds(15)) throw new TimeoutException($"Timed out waiting for {what}");
            await Task.Delay(20);
        }
    }
}

/// <summary>A started silo host and how it was set up.</summary>
public sealed record SiloHandle(IHost Host, string Name, int SiloPort, int GatewayPort, TimeSpan StartTime);

/// <summary>The class's database and its first silo, started once and stopped after the last test.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class OrleansSiloFixture : IAsyncLifetime
{
    public const string ClusterId = "schema-tests";
    public const string ServiceId = "schema-tests-service";
    public const string DeleteOnClearStorage = "DeleteOnClear";

    public TestDatabase Database { get; private set; } = null!;

    public SiloHandle A { get; private set; } = null!;

    /// <summary>Warnings and errors of every host go to the current test's output.</summary>
    public TestOutputLoggerProvider Log { get; } = new(LogLevel.Warning);

    public async Task InitializeAsync()
    {
        Database = await TestDatabase.CreateAsync(nameof(OrleansSchemaTests));
        A = await StartSiloAsync(Database.ConnectionString, "schema-a", Log);
    }

    public async Task DisposeAsync()
    {
        if (A is not null) await StopAsync(A.Host);
        if (Database is not null) await Database.DisposeAsync();
    }

    public static async Task<SiloHandle> StartSiloAsync(string connectionString, string name, ILoggerProvider log)
    {
        var (siloPort, gatewayPort) = FreePorts();
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders().SetMinimumLevel(LogLevel.Warning).AddProvider(log);
        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(o => { o.ClusterId = ClusterId; o.ServiceId = ServiceId; });
            silo.Configure<SiloOptions>(o => o.SiloName = name);
            silo.ConfigureEndpoints(IPAddress.Loopback, siloPort, gatewayPort, listenOnAnyHostAddress: false);
            silo.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(10));
            silo.UseAdoNetClustering(o => { o.Invariant = "Npgsql"; o.ConnectionString = connectionString; });
            silo.AddAdoNetGrainStorage("Default", o => { o.Invariant = "Npgsql"; o.ConnectionString = connectionString; });
            silo.AddAdoNetGrainStorage(DeleteOnClearStorage, o =>
            {
                o.Invariant = "Npgsql";
                o.ConnectionString = connectionString;
                o.DeleteStateOnClear = true;
            });
            silo.UseSystemTextJsonGrainStorageSerializer();
            silo.UseTransactions();
        });
        var host = builder.Build();
        var clock = Stopwatch.StartNew();
        try
        {
            using var start = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await host.StartAsync(start.Token);
        }
        catch
        {
            await StopAsync(host);
            throw;
        }
        return new SiloHandle(host, name, siloPort, gatewayPort, clock.Elapsed);
    }

    public static async Task StopAsync(IHost host)
    {
        try
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await host.StopAsync(stop.Token);
        }
        finally
        {
            if (host is IAsyncDisposable asyncDisposable) await asyncDisposable.DisposeAsync();
            else host.Dispose();
        }
    }

    /// <summary>Two distinct free ports on 127.0.0.1 (the OS picks them; both listeners are held until both are known).</summary>
    private static (int, int) FreePorts()
    {
        using var first = new TcpListener(IPAddress.Loopback, 0);
        using var second = new TcpListener(IPAddress.Loopback, 0);
        first.Start();
        second.Start();
        var ports = (((IPEndPoint)first.LocalEndpoint).Port, ((IPEndPoint)second.LocalEndpoint).Port);
        first.Stop();
        second.Stop();
        return ports;
    }
}

/// <summary>Logs to whichever test's output is current (tests of a class run one at a time).</summary>
public sealed class TestOutputLoggerProvider(LogLevel minimumLevel) : ILoggerProvider
{
    public ITestOutputHelper? Output { get; set; }

    public LogLevel MinimumLevel { get; } = minimumLevel;

    public ILogger CreateLogger(string categoryName) => new Forwarder(this, categoryName);

    public void Dispose() { }

    private sealed class Forwarder(TestOutputLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= provider.MinimumLevel && provider.Output is not null;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel) || provider.Output is not { } output) return;
            new TestOutputLogger(output, provider.MinimumLevel).Log(logLevel, eventId, state, exception, (s, e) => $"[{category}] {formatter(s, e)}");
        }
    }
}
