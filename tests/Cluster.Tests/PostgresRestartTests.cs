using System.Diagnostics;
using TrainedModelsOrleans.Silo.Storage;
using TrainedModelsOrleans.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace TrainedModelsOrleans.Cluster.Tests;

/// <summary>The cluster's own PostgreSQL server (not the shared test server), so that a test can stop and start it.</summary>
public sealed class PostgresRestartTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly EmbeddedPostgresOptions _options = new()
    {
        DataDirectory = Path.Combine(TestRunDirectory.CreateScratchDirectory("pg-restart"), "postgres"),
        DatabaseName = "cluster",
        Port = NodeProcess.FreePort(),
    };
    private EmbeddedPostgres _postgres = null!;

    public async Task InitializeAsync() => _postgres = await StartPostgresAsync();

    public async Task DisposeAsync() => await _postgres.DisposeAsync();

    private Task<EmbeddedPostgres> StartPostgresAsync() =>
        EmbeddedPostgres.StartAsync(_options, new TestOutputLogger(output, Microsoft.Extensions.Logging.LogLevel.Information), CancellationToken.None);

    [Fact]
    public async Task A_database_restart_is_ridden_out_without_a_silo_declared_dead_or_manual_action()
    {
        var (cluster, model, clock, load) = await StartServingClusterAsync();
        await using var ownedCluster = cluster;
        await using var ownedLoad = load;
        var generations = await cluster.RowsAsync("SELECT siloname || '@' || generation FROM orleansmembershiptable WHERE status = 3 ORDER BY 1");

        var (stoppedAt, restartedAt) = await RestartPostgresAsync(cluster, clock);

        // The control plane answers again without anyone restarting anything: a new model, a deployment update.
        var recoveryBound = TimeSpan.FromSeconds(20);
        var newModel = MlApi.NewId("after-restart");
        await cluster.WaitUntilAsync(async () =>
                (await cluster[1].Http.SendJsonAsync(HttpMethod.Put, $"/_ml/trained_models/{newModel}", ModelUploads.OnnxConfig())).Status == System.Net.HttpStatusCode.OK,
            recoveryBound, () => "PUT of a new model did not succeed after the restart");
        cluster.Log($"a new model was stored {(clock.Elapsed - restartedAt).TotalSeconds:0.000} s after the restart");
        await cluster.WaitUntilAsync(async () => (await cluster[1].Http.UpdateDeploymentAsync(model, 2)).Status == System.Net.HttpStatusCode.OK,
            recoveryBound, () => "the deployment update did not succeed after the restart");
        DeploymentState? state = null;
        await cluster.WaitUntilAsync(async () => (state = await DeploymentState.ReadAsync(cluster[0].Http, model)) is { AllRoutesStarted: true, NumberOfAllocations: 2, Allocations: 2 },
            recoveryBound, () => $"the update did not apply: {state}");
        var recoveredAt = clock.Elapsed;
        Assert.Equal(2, await DeploymentState.StoredNumberOfAllocationsAsync(cluster, model));
        Assert.Equal(1, await cluster.ScalarAsync<long>("SELECT count(*) FROM ml_ids WHERE id = $1 AND kind = 'model'", newModel));

        await Task.Delay(TimeSpan.FromSeconds(2));
        await load.StopAsync();
        output.WriteLine($"control plane recovered {(recoveredAt - restartedAt).TotalSeconds:0.000} s after the restart");
        Report(load, stoppedAt, restartedAt);

        // No silo was declared dead: the same generations are active, both processes run.
        Assert.All(cluster.Silos, s => Assert.True(s.IsRunning, s.Process.OutputTail()));
        Assert.Equal(generations, await cluster.RowsAsync("SELECT siloname || '@' || generation FROM orleansmembershiptable WHERE status = 3 ORDER BY 1"));
        Assert.True(load.Served(recoveredAt, clock.Elapsed) > 0, "no inference was served after the recovery");
        Assert.DoesNotContain(load.Failures, o => o.At > recoveredAt);
    }

    [Fact]
    public async Task Inference_is_served_from_the_last_known_routes_while_the_database_restarts()
    {
        var (cluster, _, clock, load) = await StartServingClusterAsync();
        await using var ownedCluster = cluster;
        await using var ownedLoad = load;

        // The routes are in every silo's memory and the nodes serve without the database: nothing to fail for.
        var (stoppedAt, restartedAt) = await RestartPostgresAsync(cluster, clock);
        await Task.Delay(TimeSpan.FromSeconds(1));
        await load.StopAsync();
        Report(load, stoppedAt, restartedAt);
        Assert.True(load.Served(stoppedAt, restartedAt) > 0, "no inference was served while postgres was down");
        Assert.Empty(load.Failures);
    }

    /// <summary>
    /// Two silos on this server; a deployment over both; inference load through the SDK, running for half a second already.
    /// </summary>
    private async Task<(TestCluster Cluster, string Model, Stopwatch Clock, InferenceLoad Load)> StartServingClusterAsync()
    {
        var cluster = await TestCluster.StartAsync(new TestClusterOptions
        {
            Silos = 2,
            ConnectionString = _postgres.ConnectionString,
        }, output);
        try
        {
            var model = await TinyModel.UploadAsync(cluster[0].Http);
            (await cluster[0].Http.StartDeploymentAsync(model, "number_of_allocations=4&wait_for=fully_allocated")).AssertOk();
            var clock = Stopwatch.StartNew();
            var load = InferenceLoad.Start((await cluster.CreateClientAsync(cluster[0], cluster[1])).Client, model, callers: 2, clock);
            await Task.Delay(500);
            return (cluster, model, clock, load);
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>Stops the server, keeps it down for two seconds, starts it again on the same folder and port.</summary>
    private async Task<(TimeSpan Stopped, TimeSpan Restarted)> RestartPostgresAsync(TestCluster cluster, Stopwatch clock)
    {
        var stoppedAt = clock.Elapsed;
        await _postgres.StopAsync();
        cluster.Log("postgres stopped");
        await Task.Delay(TimeSpan.FromSeconds(2));
        _postgres = await StartPostgresAsync();
        var restartedAt = clock.Elapsed;
        cluster.Log($"postgres started again after {(restartedAt - stoppedAt).TotalSeconds:0.0} s down");
        // The test's own pooled connections died with the old server.
        cluster.DataSource.Clear();
        return (stoppedAt, restartedAt);
    }

    private void Report(InferenceLoad load, TimeSpan stoppedAt, TimeSpan restartedAt)
    {
        var failures = load.Failures;
        output.WriteLine($"inference: {load.Served(stoppedAt, restartedAt)} served while postgres was down ({stoppedAt.TotalSeconds:0.000}–{restartedAt.TotalSeconds:0.000} s), " +
                         $"{load.Outcomes.Length} in all, {failures.Length} failed");
        foreach (var group in failures.GroupBy(f => f.Error).Take(5))
            output.WriteLine($"  {group.Count()} × {group.Key} ({group.First().At.TotalSeconds:0.000}–{group.Last().At.TotalSeconds:0.000} s)");
    }

    /// <summary>
    /// Orleans does not fence a silo that cannot reach its membership table (the home-made runtime did): silos that
    /// still reach each other keep serving, and nobody is declared dead, however long the outage. What this proves.
    /// </summary>
    [Fact]
    public async Task An_outage_longer_than_failure_detection_declares_nobody_dead_and_inference_keeps_serving()
    {
        var (cluster, _, clock, load) = await StartServingClusterAsync();
        await using var ownedCluster = cluster;
        await using var ownedLoad = load;
        var generations = await cluster.RowsAsync("SELECT siloname || '@' || generation FROM orleansmembershiptable WHERE status = 3 ORDER BY 1");

        var stoppedAt = clock.Elapsed;
        await _postgres.StopAsync();
        cluster.Log("postgres stopped");
        await Task.Delay(cluster.Options.DeathDetection + TimeSpan.FromSeconds(4));
        _postgres = await StartPostgresAsync();
        var restartedAt = clock.Elapsed;
        cluster.DataSource.Clear();
        await Task.Delay(TimeSpan.FromSeconds(1));
        await load.StopAsync();
        Report(load, stoppedAt, restartedAt);

        Assert.All(cluster.Silos, s => Assert.True(s.IsRunning, s.Process.OutputTail()));
        Assert.Equal(generations, await cluster.RowsAsync("SELECT siloname || '@' || generation FROM orleansmembershiptable WHERE status = 3 ORDER BY 1"));
        Assert.True(load.Served(stoppedAt, restartedAt) > 0, "no inference was served while postgres was down");
        Assert.Empty(load.Failures);
    }
}
