using System.Diagnostics;
using System.Text.Json;
using Orleans;
using Orleans.Core.Internal;
using Orleans.Transactions;
using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.ModelStore;
using TrainedModelsOrleans.TestSupport;
using Xunit;
using Xunit.Abstractions;
using static TrainedModelsOrleans.ControlPlane.Tests.ControlPlaneCluster;

namespace TrainedModelsOrleans.ControlPlane.Tests;

/// <summary>
/// Deployments and node reservations: one transaction per change over the deployment records, the node reservations,
/// the namespace and the coordinator's index. Each test drives grains, then reads the committed rows in PostgreSQL.
/// </summary>
public sealed class DeploymentTransactionTests(ControlPlaneCluster cluster, ITestOutputHelper output) : ControlPlaneTest(cluster, output)
{
    private IAssignmentCoordinatorGrain Coordinator => Cluster.Grain<IAssignmentCoordinatorGrain>(AssignmentCoordinatorGrain.Key);

    [Fact]
    public async Task Twenty_racing_starts_of_one_deployment_id_start_it_once()
    {
        var model = await Cluster.UploadOnnxModelAsync("race");
        var deploymentId = MlApi.NewId("race-dep");
        var start = new StartDeploymentRequest { ModelId = model, DeploymentId = deploymentId, WaitFor = AllocationState.Starting };

        var callers = Cluster.Callers;
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            OutcomeAsync(() => callers[i % callers.Count].GetGrain<IDeploymentGrain>(deploymentId).Start(start))));

        AssertOneWinner(deploymentId, outcomes);
        await AssertOneDeploymentCommittedAsync(deploymentId, model);

        // Stopping it frees the id: no deployment row, no namespace entry.
        await Cluster.Grain<IDeploymentGrain>(deploymentId).Stop(new StopDeploymentRequest { DeploymentId = deploymentId }).WaitAsync(Bound);
        await Cluster.CommittedAsync();
        Assert.Empty(await Cluster.RowsAsync("SELECT deployment_id FROM ml_deployments WHERE deployment_id = @d", ("d", deploymentId)));
        Assert.Empty(await Cluster.RowsAsync("SELECT id FROM ml_ids WHERE id = @d", ("d", deploymentId)));
    }

    /// <summary>The same race one level down, on the coordinator, with the parameters a start computes.</summary>
    [Fact]
    public async Task Twenty_racing_CreateAssignment_calls_for_one_deployment_id_commit_one_assignment()
    {
        var model = await Cluster.UploadOnnxModelAsync("race");
        var deploymentId = MlApi.NewId("race-coord");
        var config = await Cluster.Grain<ITrainedModelGrain>(model).GetConfig().WaitAsync(Bound);
        var request = StartDeploymentSettings.From(new StartDeploymentRequest { ModelId = model, DeploymentId = deploymentId });
        var parameters = request.ToTaskParameters(config!.ModelSizeBytes);
        var memory = MemoryEstimate.Of(parameters, null);

        var callers = Cluster.Callers;
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            OutcomeAsync(() => callers[i % callers.Count].GetGrain<IAssignmentCoordinatorGrain>(AssignmentCoordinatorGrain.Key).CreateAssignment(parameters, memory))));

        AssertOneWinner(deploymentId, outcomes);
        await AssertOneDeploymentCommittedAsync(deploymentId, model);
        Assert.True(await Coordinator.RemoveAssignment(deploymentId, "test").WaitAsync(Bound));
    }

    /// <summary>
    /// A stop commits twice (stopping, then removed). A coordinator lost between the two (its silo killed) left the
    /// deployment stopping for good; the next activation finishes the stop, and tells the nodes to fetch their routes.
    /// </summary>
    [Fact]
    public async Task A_stop_left_between_its_two_commits_is_finished_by_the_next_coordinator_activation()
    {
        var model = await Cluster.UploadOnnxModelAsync("halfstop");
        var deploymentId = MlApi.NewId("halfstop-dep");
        await Cluster.Grain<IDeploymentGrain>(deploymentId)
            .Start(new StartDeploymentRequest { ModelId = model, DeploymentId = deploymentId, WaitFor = AllocationState.Started }).WaitAsync(Bound);
        var stopping = await Coordinator.MarkStopping(deploymentId, AssignmentStatus.StopReasonClientCall).WaitAsync(Bound);
        Assert.Equal(AssignmentState.Stopping, stopping!.AssignmentState);
        await Cluster.CommittedAsync();
        Assert.Equal("stopping", Assert.Single(await Cluster.RowsAsync("SELECT assignment_state FROM ml_deployments WHERE deployment_id = @d", ("d", deploymentId)))[0]);

        await Coordinator.AsReference<IGrainManagementExtension>().DeactivateOnIdle().AsTask().WaitAsync(Bound);
        var clock = Stopwatch.StartNew();
        while (await Coordinator.GetAssignment(deploymentId).WaitAsync(Bound) is not null)
        {
            Assert.True(clock.Elapsed < Bound, $"{deploymentId} stayed stopping after the coordinator came back");
            await Task.Delay(20);
        }
        await Cluster.CommittedAsync();
        Assert.Empty(await Cluster.RowsAsync("SELECT deployment_id FROM ml_deployments WHERE deployment_id = @d", ("d", deploymentId)));
        Assert.Empty(await Cluster.RowsAsync("SELECT node FROM deployment_routes WHERE deployment_id = @d", ("d", deploymentId)));
        Assert.Empty(await Cluster.RowsAsync("SELECT id FROM ml_ids WHERE id = @d", ("d", deploymentId)));
        await AssertNoNodeOversubscribedAsync();
    }

    /// <summary>
    /// Rounds of concurrent starts of different deployments (random allocations and threads) while the previous round's
    /// deployments stop: after each round no node runs more normal-priority threads than it has processors, in the routes
    /// and in the nodes' committed reservations, and the two agree.
    /// </summary>
    [Fact]
    public async Task Concurrent_starts_of_different_deployments_never_oversubscribe_a_node()
    {
        var models = new List<string>();
        for (var i = 0; i < 3; i++) models.Add(await Cluster.UploadOnnxModelAsync("busy"));
        var random = new Random(11);
        var callers = Cluster.Callers;
        var previous = new List<string>();
        var (started, refused) = (0, 0);
        for (var round = 0; round < 4; round++)
        {
            var starts = Enumerable.Range(0, 6).Select(_ =>
            {
                var model = models[random.Next(models.Count)];
                var deploymentId = MlApi.NewId("busy-dep");
                var start = new StartDeploymentRequest
                {
                    ModelId = model, DeploymentId = deploymentId, WaitFor = AllocationState.Starting,
                    NumberOfAllocations = random.Next(1, 4), ThreadsPerAllocation = random.Next(2) == 0 ? 1 : 2,
                };
                var caller = callers[random.Next(callers.Count)];
                return (Id: deploymentId, Outcome: OutcomeAsync(() => caller.GetGrain<IDeploymentGrain>(deploymentId).Start(start)));
            }).ToArray();
            var stops = previous.Select(id => OutcomeAsync(() => Cluster.Grain<IDeploymentGrain>(id).Stop(new StopDeploymentRequest { DeploymentId = id }))).ToArray();

            var stopErrors = await Task.WhenAll(stops);
            var startErrors = await Task.WhenAll(starts.Select(s => s.Outcome));
            foreach (var stopError in stopErrors) Assert.Null(stopError);
            previous.Clear();
            foreach (var (id, error) in starts.Select(s => s.Id).Zip(startErrors))
            {
                if (error is null)
                {
                    previous.Add(id);
                    started++;
                    continue;
                }
                Assert.True(Refusal(error) is { Status: 429 }, $"start of {id}: {error}");
                refused++;
            }
            await AssertNoNodeOversubscribedAsync();
        }
        Output.WriteLine($"{started} starts succeeded, {refused} were refused for capacity (429)");
        Assert.True(started > 0 && refused > 0, "the rounds should both fill the nodes and overflow them");
        foreach (var id in previous) await Cluster.Grain<IDeploymentGrain>(id).Stop(new StopDeploymentRequest { DeploymentId = id }).WaitAsync(Bound);
        await AssertNoNodeOversubscribedAsync();
    }

    /// <summary>
    /// A reservation beyond the node's processors, asked of the node directly in a transaction: refused with 429, and
    /// nothing changes — the node's row is not even written. (A transactional read such as GetCapacity does rewrite the
    /// row: Orleans records the read's timestamp, so the version and Metadata move while the committed state does not.)
    /// </summary>
    [Fact]
    public async Task A_Reserve_beyond_the_processors_in_a_transaction_is_refused_with_429_and_changes_nothing()
    {
        var node = Cluster.Nodes.MinBy(n => n.Processors)!;
        var capacity = Cluster.Grain<INodeCapacityGrain>(node.Name);
        var before = await capacity.GetCapacity().WaitAsync(Bound);
        await Cluster.CommittedAsync();
        var rowBefore = await RawRowAsync(node.Name);

        var threads = node.Processors + 1;
        var reservations = new Dictionary<string, NodeReservation>(StringComparer.Ordinal)
        {
            [MlApi.NewId("probe")] = new(ThreadsPerAllocation: 1, Allocations: threads, Priority.Normal),
        };
        var error = await OutcomeAsync(() => Cluster.Transactions.RunTransaction(TransactionOption.Create, () => capacity.Reserve(reservations)));

        Output.WriteLine($"refused: {error}");
        Assert.IsAssignableFrom<OrleansTransactionAbortedException>(error);
        var refusal = Refusal(error);
        Assert.NotNull(refusal);
        Assert.Equal(429, refusal.Status);
        Assert.Equal("status_exception", refusal.Type);
        Assert.Equal($"node [{node.Name}] would run {threads} normal-priority threads on {node.Processors} allocated processors", refusal.Reason);

        await Cluster.CommittedAsync();
        Assert.Equal(rowBefore, await RawRowAsync(node.Name));
        Assert.Equal(before, await capacity.GetCapacity().WaitAsync(Bound));
        Assert.Equal(before.NormalThreads, Assert.Single(await Cluster.RowsAsync("SELECT normal_threads FROM node_capacity WHERE node = @n", ("n", node.Name)))[0]);
    }

    private void AssertOneWinner(string deploymentId, Exception?[] outcomes)
    {
        var errors = outcomes.Where(o => o is not null).ToArray();
        Output.WriteLine($"{outcomes.Length - errors.Length} succeeded; refusals: " + string.Join("; ",
            errors.GroupBy(e => Refusal(e) is { } r ? $"{r.Status} {r.Reason}" : e!.ToString()).Select(g => $"{g.Count()}× {g.Key}")));
        Assert.Single(outcomes, o => o is null);
        foreach (var error in errors)
        {
            var refusal = Refusal(error);
            Assert.True(refusal is not null, $"not an Elasticsearch error: {error}");
            // The rules' pre-check (400, ES's wording) or the transaction's participants (409, the id already started).
            var expected = refusal.Status == 409 ? DeploymentErrors.AlreadyStarted(deploymentId) : DeploymentErrors.AlreadyExists(deploymentId);
            Assert.Equal((expected.Status, expected.Type, expected.Reason), (refusal.Status, refusal.Type, refusal.Reason));
        }
    }

    private async Task AssertOneDeploymentCommittedAsync(string deploymentId, string model)
    {
        var assignment = await Coordinator.GetAssignment(deploymentId).WaitAsync(Bound);
        Assert.NotNull(assignment);
        Assert.Equal(model, assignment.TaskParameters.ModelId);

        await Cluster.CommittedAsync();
        var deployments = await Cluster.RowsAsync("SELECT model_id FROM ml_deployments WHERE deployment_id = @d", ("d", deploymentId));
        Assert.Equal(model, Assert.Single(deployments)[0]);
        var ids = await Cluster.RowsAsync("SELECT kind, model_id FROM ml_ids WHERE id = @d", ("d", deploymentId));
        var id = Assert.Single(ids);
        Assert.Equal(("deployment", model), ((string)id[0]!, (string)id[1]!));
        var index = await Cluster.CommittedStateAsync("assignment-index", AssignmentCoordinatorGrain.Key);
        Assert.NotNull(index);
        Assert.Single(JsonDocument.Parse(index).RootElement.GetProperty("DeploymentIds").EnumerateArray(), e => e.GetString() == deploymentId);
    }

    /// <summary>
    /// Invariant 1 in the committed rows: per node, the normal-priority threads of its routes (deployment_routes, as
    /// MlApi counts them) fit its processors (node_capacity); each node's committed reservations hold exactly those
    /// routes and fit too. Read in one statement (one snapshot) while no transaction is mid-confirmation, since a
    /// plan's rows are confirmed one by one. Both nodes must be there, so the check cannot pass on empty views.
    /// </summary>
    private async Task AssertNoNodeOversubscribedAsync()
    {
        await MlApi.AssertNoNodeOversubscribedAsync(Cluster.DataSource);
        var snapshot = await CommittedSnapshotAsync();
        var processors = JsonDocument.Parse(snapshot.Processors).RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32());
        Assert.Equal(Cluster.Nodes.ToDictionary(n => n.Name, n => n.Processors), processors);
        var routes = JsonDocument.Parse(snapshot.Routes).RootElement.EnumerateArray().Select(r => (
            Node: r.GetProperty("node").GetString()!, Deployment: r.GetProperty("deployment").GetString()!,
            Reservation: (r.GetProperty("threads").GetInt32(), r.GetProperty("allocations").GetInt32(), r.GetProperty("priority").GetString()!))).ToArray();
        var states = JsonDocument.Parse(snapshot.Reservations).RootElement;
        foreach (var node in Cluster.Nodes)
        {
            var routed = routes.Where(r => r.Node == node.Name).ToDictionary(r => r.Deployment, r => r.Reservation);
            var state = states.GetProperty(node.Name);
            var reserved = state.GetProperty("Reservations").EnumerateObject().ToDictionary(r => r.Name, r => (
                r.Value.GetProperty("ThreadsPerAllocation").GetInt32(), r.Value.GetProperty("Allocations").GetInt32(), r.Value.GetProperty("Priority").GetString()!));
            var normal = routed.Values.Where(r => r.Item3 == "normal").Sum(r => r.Item1 * r.Item2);
            Output.WriteLine($"{node.Name}: {routed.Count} routes, {normal} normal threads on {node.Processors} processors");
            Assert.True(normal <= node.Processors, $"{node.Name} routes {normal} normal threads on {node.Processors} processors");
            Assert.Equal(node.Processors, state.GetProperty("Processors").GetInt32());
            Assert.Equal(normal, state.GetProperty("NormalThreads").GetInt32());
            Assert.Equal(routed.OrderBy(r => r.Key, StringComparer.Ordinal), reserved.OrderBy(r => r.Key, StringComparer.Ordinal));
        }
    }

    private async Task<(string Routes, string Reservations, string Processors)> CommittedSnapshotAsync()
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var row = Assert.Single(await Cluster.RowsAsync("""
                SELECT
                  (SELECT count(*) FROM orleansstorage WHERE payloadbinary IS NOT NULL
                     AND jsonb_array_length(COALESCE(convert_from(payloadbinary, 'UTF8')::jsonb -> 'PendingStates', '[]'::jsonb)) > 0),
                  (SELECT COALESCE(jsonb_agg(jsonb_build_object('node', node, 'deployment', deployment_id, 'threads', threads_per_allocation,
                            'allocations', GREATEST(current_allocations, target_allocations), 'priority', priority)), '[]'::jsonb)
                   FROM deployment_routes
                   WHERE routing_state NOT IN ('failed', 'stopped') AND GREATEST(current_allocations, target_allocations) > 0)::text,
                  (SELECT jsonb_object_agg(grain_key, state) FROM ml_committed_states('node-capacity'))::text,
                  (SELECT jsonb_object_agg(node, allocated_processors) FROM node_capacity)::text
                """));
            if ((long)row[0]! == 0) return ((string)row[1]!, (string)row[2]!, (string)row[3]!);
            if (clock.Elapsed > Bound) throw new TimeoutException("transactional rows kept holding prepared states");
            await Task.Delay(20);
        }
    }

    private async Task<(int Version, string Payload)> RawRowAsync(string node)
    {
        var row = Assert.Single(await Cluster.RowsAsync(
            "SELECT version, convert_from(payloadbinary, 'UTF8') FROM orleansstorage WHERE graintypestring = 'node-capacity' AND grainidextensionstring LIKE @k",
            ("k", "%/" + node)));
        return ((int)row[0]!, (string)row[1]!);
    }
}
