using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Configuration;
using Orleans.Runtime;
using Orleans.Runtime.MembershipService;
using TrainedModelsOrleans.Silo.Storage;
using TrainedModelsOrleans.TestSupport;
using Xunit;

namespace TrainedModelsOrleans.Storage.Tests;

/// <summary>
/// db/0005_orleans.sql against Orleans 10.4.2's own ADO.NET membership table class, without a silo:
/// every membership write is conditional on the table version and leaves nothing behind when it fails,
/// and the optional captured-row cleanup deletes only what it should. Each test has a cluster id of its own.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class OrleansMembershipQueryTests(PostgresDatabaseFixture db) : IClassFixture<PostgresDatabaseFixture>
{
    private static readonly string[] ClusteringKeys =
    [
        "InsertMembershipVersionKey", "InsertMembershipKey", "UpdateMembershipKey", "UpdateIAmAlivetimeKey",
        "MembershipReadRowKey", "MembershipReadAllKey", "DeleteMembershipTableEntriesKey", "GatewaysQueryKey",
        "CleanupDefunctSiloEntriesKey", "CleanupDefunctSiloEntryKey",
    ];

    private static readonly string[] StorageKeys = ["WriteToStorageKey", "ReadFromStorageKey", "ClearStorageKey", "DeleteStorageKey"];

    [Fact]
    public async Task OrleansQuery_holds_every_key_the_two_providers_read()
    {
        var keys = new List<string>();
        await using (var command = db.DataSource.CreateCommand("SELECT querykey FROM OrleansQuery ORDER BY querykey"))
        await using (var reader = await command.ExecuteReaderAsync())
            while (await reader.ReadAsync()) keys.Add(reader.GetString(0));
        Assert.Equal(ClusteringKeys.Concat(StorageKeys).Order(StringComparer.Ordinal), keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task The_migration_applies_again_without_change()
    {
        const string Snapshot = "SELECT string_agg(querykey || '=' || md5(querytext), ',' ORDER BY querykey) FROM OrleansQuery";
        var before = await db.ScalarAsync<string>(Snapshot);
        var sql = await File.ReadAllTextAsync(Path.Combine(SchemaMigrator.FindSchemaDirectory(), "0005_orleans.sql"));
        await using (var again = db.DataSource.CreateCommand(sql)) await again.ExecuteNonQueryAsync();
        Assert.Equal(before, await db.ScalarAsync<string>(Snapshot));
    }

    [Fact]
    public async Task Membership_writes_succeed_only_on_the_current_version_and_undo_themselves_otherwise()
    {
        var cluster = $"writes-{Guid.NewGuid():N}";
        var table = await TableAsync(cluster);
        await table.InitializeMembershipTableAsync(tryInitTableVersion: true);  // the version row exists already: no-op

        var data = await table.ReadAllAsync();
        Assert.Empty(data.Members);
        Assert.Equal(0, data.Version.Version);

        var now = Now();
        var a = Entry(11111, SiloStatus.Joining, "a", now, now);
        Assert.True(await table.InsertRowAsync(a, data.Version.Next()));
        Assert.Equal(1, await VersionAsync(cluster));

        // The same silo again, on the current version: refused, and the version bump is rolled back.
        Assert.False(await table.InsertRowAsync(a, new TableVersion(2, "1")));
        Assert.Equal(1, await VersionAsync(cluster));
        // Another silo on a stale version: refused, nothing written.
        var b = Entry(22222, SiloStatus.Joining, "b", now, now);
        Assert.False(await table.InsertRowAsync(b, new TableVersion(1, "0")));
        Assert.Equal(1, await RowCountAsync(cluster));

        data = await table.ReadAllAsync();
        var (read, etag) = Assert.Single(data.Members);
        Assert.Equal("1", etag);
        Assert.Equal("a", read.SiloName);
        Assert.Equal(a.SiloAddress, read.SiloAddress);
        Assert.Equal(a.ProxyPort, read.ProxyPort);
        Assert.Equal(now, read.StartTime);

        read.Status = SiloStatus.Active;
        read.SuspectTimes = [Tuple.Create(b.SiloAddress, now)];
        read.IAmAliveTime = now.AddSeconds(1);
        Assert.True(await table.UpdateRowAsync(read, etag, data.Version.Next()));
        Assert.Equal(2, await VersionAsync(cluster));
        // Stale version: refused.
        Assert.False(await table.UpdateRowAsync(read, "1", new TableVersion(2, "1")));
        // A row that does not exist, on the current version: refused, and the version bump is rolled back.
        Assert.False(await table.UpdateRowAsync(b, "2", new TableVersion(3, "2")));
        Assert.Equal(2, await VersionAsync(cluster));

        var row = (await table.ReadRowAsync(a.SiloAddress)).Members.Single().Item1;
        Assert.Equal(SiloStatus.Active, row.Status);
        Assert.Equal(b.SiloAddress, Assert.Single(row.SuspectTimes!).Item1);
        Assert.Equal(now.AddSeconds(1), row.IAmAliveTime);
        // ReadRow of an absent silo still returns the version.
        var absent = await table.ReadRowAsync(b.SiloAddress);
        Assert.Empty(absent.Members);
        Assert.Equal(2, absent.Version.Version);

        // Heartbeats: forward only, and not versioned.
        row.IAmAliveTime = now.AddSeconds(5);
        await table.UpdateIAmAliveAsync(row);
        row.IAmAliveTime = now.AddSeconds(3);
        await table.UpdateIAmAliveAsync(row);
        Assert.Equal(now.AddSeconds(5), (await table.ReadRowAsync(a.SiloAddress)).Members.Single().Item1.IAmAliveTime);
        Assert.Equal(2, await VersionAsync(cluster));

        await table.DeleteMembershipTableEntriesAsync(cluster);
        Assert.Equal(0, await RowCountAsync(cluster));
        Assert.Equal(0L, await db.ScalarAsync<long>("SELECT count(*) FROM OrleansMembershipVersionTable WHERE deploymentid = @c", ("c", cluster)));
    }

    [Fact]
    public async Task Cleanup_deletes_only_Dead_rows_whose_start_heartbeat_and_votes_are_older_than_the_cutoff()
    {
        var cluster = $"cleanup-{Guid.NewGuid():N}";
        var table = await TableAsync(cluster);
        var now = Now();
        var old = now.AddHours(-2);
        var voter = SiloAddress.New(IPAddress.Loopback, 9, 1);

        var rows = new (MembershipEntry Entry, bool Deleted)[]
        {
            (Entry(1001, SiloStatus.Dead, "dead-old", old, old), true),
            (Entry(1002, SiloStatus.Dead, "dead-old-voted-long-ago", old, old, Tuple.Create(voter, old)), true),
            (Entry(1003, SiloStatus.Dead, "dead-old-voted-recently", old, old, Tuple.Create(voter, now)), false),
            (Entry(1004, SiloStatus.Dead, "dead-recent", now, now), false),
            (Entry(1005, SiloStatus.Active, "active-silent", old, old), false),
            (Entry(1006, SiloStatus.ShuttingDown, "shutting-down-old", old, old), false),
        };
        foreach (var (entry, _) in rows)
        {
            // InsertMembershipKey takes no votes (10.4.2 passes none); they come with a later update.
            var version = (await table.ReadAllAsync()).Version;
            Assert.True(await table.InsertRowAsync(entry, version.Next()), entry.SiloName);
            if (entry.SuspectTimes is null) continue;
            version = (await table.ReadAllAsync()).Version;
            Assert.True(await table.UpdateRowAsync(entry, version.VersionEtag, version.Next()), entry.SiloName);
        }
        var versionBefore = await VersionAsync(cluster);

        await table.CleanupDefunctSiloEntriesAsync(now.AddHours(-1));

        var left = (await table.ReadAllAsync()).Members.Select(m => m.Item1.SiloName).Order().ToList();
        Assert.Equal(rows.Where(r => !r.Deleted).Select(r => r.Entry.SiloName).Order(), left);
        Assert.Equal(versionBefore, await VersionAsync(cluster));
    }

    private async Task<AdoNetClusteringTable> TableAsync(string cluster)
    {
        var table = new AdoNetClusteringTable(
            new ServiceCollection().BuildServiceProvider(),
            Options.Create(new ClusterOptions { ClusterId = cluster, ServiceId = "membership-queries" }),
            Options.Create(new AdoNetClusteringSiloOptions { Invariant = "Npgsql", ConnectionString = db.ConnectionString }),
            NullLogger<AdoNetClusteringTable>.Instance);
        await table.InitializeMembershipTableAsync(tryInitTableVersion: true);
        return table;
    }

    private static MembershipEntry Entry(int port, SiloStatus status, string name, DateTime start, DateTime alive,
        params Tuple<SiloAddress, DateTime>[] votes) => new()
    {
        SiloAddress = SiloAddress.New(IPAddress.Loopback, port, 1),
        SiloName = name,
        HostName = "localhost",
        Status = status,
        ProxyPort = port + 1,
        StartTime = start,
        IAmAliveTime = alive,
        SuspectTimes = votes.Length == 0 ? null : [.. votes],
    };

    /// <summary>Now, to the millisecond that timestamptz(3) keeps.</summary>
    private static DateTime Now()
    {
        var now = DateTime.UtcNow;
        return new DateTime(now.Ticks - now.Ticks % TimeSpan.TicksPerMillisecond, DateTimeKind.Utc);
    }

    private Task<int> VersionAsync(string cluster) =>
        db.ScalarAsync<int>("SELECT version FROM OrleansMembershipVersionTable WHERE deploymentid = @c", ("c", cluster));

    private Task<int> RowCountAsync(string cluster) =>
        db.ScalarAsync<int>("SELECT count(*) FROM OrleansMembershipTable WHERE deploymentid = @c", ("c", cluster));
}
