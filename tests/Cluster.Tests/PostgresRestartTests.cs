using System.Diagnostics;
using TrainedModelsOrleans.Runtime.Storage;
using TrainedModelsOrleans.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace TrainedModelsOrleans.Cluster.Tests;

/// <summary>The cluster's own PostgreSQL server (not the shared test server), so that a test can stop and start it.</summary>
public sealed class PostgresRestartTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int FencedExitCode = 75;

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
    public async Task A_database_restart_shorter_than_the_death_timeout_is_ridden_out_without_fencing_or_manual_action()
    {
        var (cluster, model, clock, load) = await StartServingClusterAsync();
        await using var ownedCluster = cluster;
        await using var ownedLoad = load;
        var generations = await cluster.RowsAsync("SELECT silo_id || '@' || generation FROM silos WHERE status = 'active' ORDER BY 1");

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

        // No silo fenced itself or was declared dead: the same generations are active, both processes run.
        Assert.All(cluster.Silos, s => Assert.True(s.IsRunning, s.Process.OutputTail()));
        Assert.Equal(generations, await cluster.RowsAsync("SELECT silo_id || '@' || generation FROM silos WHERE status = 'active' ORDER BY 1"));
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
    /// Two silos on this server, with a death timeout (8 s) well beyond the outage; a deployment over both; inference
    /// load through the SDK, running for half a second already.
    /// </summary>
    private async Task<(TestCluster Cluster, string Model, Stopwatch Clock, InferenceLoad Load)> StartServingClusterAsync()
    {
        var cluster = await TestCluster.StartAsync(new TestClusterOptions
        {
            Silos = 2,
            ConnectionString = _postgres.ConnectionString,
            DeathTimeout = TimeSpan.FromSeconds(8),
        }, output);
        try
        {
            var model = await TinyModel.UploadAsync(cluster[0].Http);
            (await cluster[0].Http.StartDeploymentAsync(model, "number_of_allocations=4&wait_for=fully_allocated")).AssertOk();
            var clock = Stopwatch.StartNew();
            var load = InferenceLoad.Start(cluster.CreateClient(cluster[0], cluster[1]), model, callers: 2, clock);
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

    [Fact]
    public async Task Silos_that_cannot_reach_the_database_for_longer_than_the_death_timeout_fence_themselves()
    {
        await using var cluster = await TestCluster.StartAsync(new TestClusterOptions { Silos = 2, ConnectionString = _postgres.ConnectionString }, output);
        var model = await TinyModel.UploadAsync(cluster[0].Http);
        (await cluster[1].Http.StartDeploymentAsync(model, "wait_for=started")).AssertOk();

        var watch = Stopwatch.StartNew();
        await _postgres.StopAsync();
        cluster.Log("postgres stopped");
        var bound = cluster.Options.DeathTimeout + TimeSpan.FromSeconds(5);
        var exitCodes = await Task.WhenAll(cluster.Silos.Select(s => s.Process.WaitForExitAsync(bound)));
        cluster.Log($"silos exited with {string.Join(", ", exitCodes)} within {watch.Elapsed.TotalSeconds:0.000} s");
        Assert.All(cluster.Silos, s => Assert.True(s.Process.ExitCode == FencedExitCode, $"{s.Name}: exit code {s.Process.ExitCode}\n{s.Process.OutputTail()}"));
    }
}
