using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.ModelStore;
using TrainedModelsOrleans.Grains.Serving;
using Xunit;
using static TrainedModelsOrleans.ControlPlaneRules.Tests.Assignments;

namespace TrainedModelsOrleans.ControlPlaneRules.Tests;

public class RenderingTests
{
    private static void SameJson(string expected, JsonNode actual) =>
        Assert.Equal(JsonNode.Parse(expected)!.ToJsonString(), actual.ToJsonString());

    [Fact]
    public void Assignment_renders_in_es_shape_and_order()
    {
        // The shape of ES's update-deployment docs example, with the fields 8.8+ adds.
        var assignment = Of(numberOfAllocations: 4, deploymentId: "elastic__distilbert", modelId: "elastic__distilbert", routes:
        [
            ("uckeG3R8TLe2MMNBQ6AGrw", Route(RoutingState.Started, 1, 4, "")),
            ("A-node", Route(RoutingState.Starting, 0, 1)),
        ]) with { TaskParameters = new TaskParameters { ModelId = "elastic__distilbert", DeploymentId = "elastic__distilbert", ModelBytes = 265632637, NumberOfAllocations = 4 } };

        SameJson("""
            {"assignment":{
              "task_parameters":{"model_id":"elastic__distilbert","deployment_id":"elastic__distilbert","model_bytes":265632637,
                "threads_per_allocation":1,"number_of_allocations":4,"queue_capacity":1024,"priority":"normal",
                "per_deployment_memory_bytes":0,"per_allocation_memory_bytes":0},
              "routing_table":{
                "A-node":{"current_allocations":0,"target_allocations":1,"routing_state":"starting"},
                "uckeG3R8TLe2MMNBQ6AGrw":{"current_allocations":1,"target_allocations":4,"routing_state":"started","reason":""}},
              "assignment_state":"started",
              "start_time":"2022-11-02T11:50:34.766Z",
              "max_assigned_allocations":1}}
            """, AssignmentJson.Response(assignment));
    }

    [Fact]
    public void Cache_size_reason_and_adaptive_allocations_render_when_set()
    {
        var assignment = Of(state: AssignmentState.Starting) with { Reason = "Could not assign (more) allocations on node [a]. Reason: x" };
        var json = AssignmentJson.Render(assignment, new AdaptiveAllocationsSettings { Enabled = true, MinNumberOfAllocations = 1 });
        Assert.Equal("10kb", (string?)json["task_parameters"]!["cache_size"]);
        Assert.Equal(["task_parameters", "routing_table", "assignment_state", "reason", "start_time", "max_assigned_allocations", "adaptive_allocations"],
            json.Select(p => p.Key));
        SameJson("""{"enabled":true,"min_number_of_allocations":1}""", json["adaptive_allocations"]!);
    }

    [Fact]
    public void Start_time_is_an_iso_instant_with_milliseconds()
    {
        Assert.Equal("1970-01-01T00:00:00.000Z", AssignmentJson.IsoInstant(0));
        Assert.Equal("2022-11-02T11:50:34.766Z", AssignmentJson.IsoInstant(1_667_389_834_766));
    }

    private static readonly Dictionary<string, NodeDescription> Nodes = new()
    {
        ["node-1"] = new NodeDescription { Id = "node-1", Name = "silo-1", TransportAddress = "127.0.0.1:9300" },
        ["node-2"] = new NodeDescription { Id = "node-2", Name = "silo-2", TransportAddress = "127.0.0.1:9301" },
    };

    [Fact]
    public void Deployment_stats_render_in_es_shape_with_presence_rules()
    {
        var assignment = Of(numberOfAllocations: 3, routes:
        [
            ("node-2", Route(RoutingState.Starting, 0, 1)),
            ("node-1", Route(RoutingState.Started, 2, 2)),
        ]);
        var stats = new Dictionary<string, NodeInferenceStats>
        {
            ["node-1"] = new()
            {
                InferenceCount = 3, AverageInferenceTimeMs = 12.5, AverageInferenceTimeMsExcludingCacheHits = 18.5, InferenceCacheHitCount = 1,
                NumberOfPendingRequests = 0, PeakThroughputPerMinute = 3, ThroughputLastMinute = 2, AverageInferenceTimeMsLastMinute = 12.5,
                InferenceCacheHitCountLastMinute = 1, LastAccess = 1_667_389_900_000, StartTime = 1_667_389_835_000, RejectedExecutionCount = 2,
            },
        };

        SameJson("""
            {"deployment_id":"dep","model_id":"model","threads_per_allocation":1,"number_of_allocations":3,"queue_capacity":1024,
             "state":"started",
             "allocation_status":{"allocation_count":2,"target_allocation_count":3,"state":"started"},
             "cache_size":"10kb","priority":"normal","start_time":1667389834766,
             "rejected_execution_count":2,"inference_count":3,"peak_throughput_per_minute":3,
             "nodes":[
               {"node":{"node-1":{"name":"silo-1","transport_address":"127.0.0.1:9300","attributes":{},"roles":["ml"]}},
                "routing_state":{"routing_state":"started"},
                "inference_count":3,"average_inference_time_ms":12.5,"average_inference_time_ms_excluding_cache_hits":18.5,
                "inference_cache_hit_count":1,"last_access":1667389900000,"number_of_pending_requests":0,"rejected_execution_count":2,
                "start_time":1667389835000,"threads_per_allocation":1,"number_of_allocations":2,
                "peak_throughput_per_minute":3,"throughput_last_minute":2,
                "average_inference_time_ms_last_minute":12.5,"inference_cache_hit_count_last_minute":1},
               {"node":{"node-2":{"name":"silo-2","transport_address":"127.0.0.1:9301","attributes":{},"roles":["ml"]}},
                "routing_state":{"routing_state":"starting"},
                "peak_throughput_per_minute":0,"throughput_last_minute":0}]}
            """, DeploymentStatsJson.Render(assignment, stats, Nodes));
        Assert.Equal(2, DeploymentStatsJson.FailureCount(assignment, stats));
        Assert.Equal(3, DeploymentStatsJson.InferenceCount(assignment, stats));
    }

    [Fact]
    public void Unused_started_route_omits_averages_and_last_access()
    {
        var assignment = Of(routes: [("node-1", Route(RoutingState.Started, 1, 1))]);
        var json = DeploymentStatsJson.Render(assignment, new Dictionary<string, NodeInferenceStats> { ["node-1"] = new() }, Nodes);
        var node = json["nodes"]![0]!.AsObject();
        Assert.False(node.ContainsKey("average_inference_time_ms"));
        Assert.False(node.ContainsKey("last_access"));
        Assert.False(node.ContainsKey("error_count"));
        Assert.Equal(0, (long)node["inference_count"]!);
        Assert.False(json.AsObject().ContainsKey("inference_count"));
        Assert.Equal(0, (long)json["peak_throughput_per_minute"]!);
    }

    [Fact]
    public void Every_route_failed_makes_the_deployment_failed_with_the_default_reason()
    {
        var assignment = Of(state: AssignmentState.Starting, routes:
        [
            ("node-1", Route(RoutingState.Failed, 0, 1, "crashed")),
            ("node-2", Route(RoutingState.Failed, 0, 1, "crashed too")),
        ]);
        var json = DeploymentStatsJson.Render(assignment, new Dictionary<string, NodeInferenceStats>(), Nodes);
        Assert.Equal("failed", (string?)json["state"]);
        Assert.Equal("All node routes are failed; see node route reason for details", (string?)json["reason"]);
        SameJson("""{"routing_state":"failed","reason":"crashed"}""", json["nodes"]![0]!["routing_state"]!);
        // allocation_status follows the stored state (starting), as ES does.
        Assert.Equal("starting", (string?)json["allocation_status"]!["state"]);
    }

    [Fact]
    public void Stopping_deployment_has_no_allocation_status_and_started_route_without_counters_shows_stopped()
    {
        var assignment = Of(state: AssignmentState.Stopping, routes: [("node-1", Route(RoutingState.Started, 1, 1))]) with { Reason = "client API call" };
        var json = DeploymentStatsJson.Render(assignment, new Dictionary<string, NodeInferenceStats>(), Nodes);
        Assert.False(json.AsObject().ContainsKey("allocation_status"));
        Assert.Equal(("stopping", "client API call"), ((string?)json["state"], (string?)json["reason"]));
        SameJson("""{"routing_state":"stopped","reason":""}""", json["nodes"]![0]!["routing_state"]!);
    }

    [Fact]
    public void Stats_cache_size_defaults_to_the_model_size_printed_like_es()
    {
        var assignment = Of() with { TaskParameters = new TaskParameters { ModelId = "m", DeploymentId = "m", ModelBytes = 1630 } };
        Assert.Equal("1.5kb", (string?)DeploymentStatsJson.Render(assignment, new Dictionary<string, NodeInferenceStats>(), Nodes)["cache_size"]);
    }

    [Fact]
    public void Model_stats_render_each_entry_in_es_order_and_a_started_route_whose_node_is_silent_shows_zeros()
    {
        var assignment = Of(numberOfAllocations: 3, routes:
        [
            ("node-1", Route(RoutingState.Started, 2, 2)),
            ("node-9", Route(RoutingState.Started, 1, 1)),
        ]);
        var response = new GetTrainedModelStatsResponse
        {
            Count = 2,
            TrainedModelStats =
            [
                new TrainedModelStats
                {
                    ModelId = "model",
                    ModelSizeStats = new TrainedModelSizeStats { ModelSizeBytes = 1630, RequiredNativeMemoryBytes = 251_661_500 },
                    InferenceStats = new InferenceStats { Timestamp = 1_667_389_900_001 },
                    DeploymentStats = new TrainedModelDeploymentStats
                    {
                        Assignment = assignment,
                        Nodes =
                        [
                            new TrainedModelDeploymentNodeStats
                            {
                                NodeId = "node-1", Node = Nodes["node-1"],
                                // The last field is ours (inference_time_p99_ms, for the ML page), printed last; a node without it omits it.
                                Stats = new NodeDeploymentStats("node-1", 3, 1, 12.5, 18.5, 0, 0, 1, 0, 3, 2, 1_667_389_900_000, 1_667_389_835_000, 41.5),
                            },
                            // Not in the cluster's membership, and silent: no node description, zero counters.
                            new TrainedModelDeploymentNodeStats { NodeId = "node-9" },
                        ],
                    },
                },
                new TrainedModelStats
                {
                    ModelId = "tree", ModelSizeStats = new TrainedModelSizeStats { ModelSizeBytes = 10 }, PipelineCount = 1,
                },
            ],
        };

        SameJson("""
            {"count":2,"trained_model_stats":[
              {"model_id":"model","model_size_stats":{"model_size_bytes":1630,"required_native_memory_bytes":251661500},"pipeline_count":0,
               "inference_stats":{"failure_count":0,"inference_count":0,"cache_miss_count":0,"missing_all_fields_count":0,"timestamp":1667389900001},
               "deployment_stats":{"deployment_id":"dep","model_id":"model","threads_per_allocation":1,"number_of_allocations":3,"queue_capacity":1024,
                 "state":"started",
                 "allocation_status":{"allocation_count":3,"target_allocation_count":3,"state":"fully_allocated"},
                 "cache_size":"10kb","priority":"normal","start_time":1667389834766,
                 "timeout_count":1,"inference_count":3,"peak_throughput_per_minute":3,
                 "nodes":[
                   {"node":{"node-1":{"name":"silo-1","transport_address":"127.0.0.1:9300","attributes":{},"roles":["ml"]}},
                    "routing_state":{"routing_state":"started"},
                    "inference_count":3,"average_inference_time_ms":12.5,"average_inference_time_ms_excluding_cache_hits":18.5,
                    "inference_cache_hit_count":1,"last_access":1667389900000,"number_of_pending_requests":0,"timeout_count":1,
                    "start_time":1667389835000,"threads_per_allocation":1,"number_of_allocations":2,
                    "peak_throughput_per_minute":3,"throughput_last_minute":2,"inference_cache_hit_count_last_minute":0,"inference_time_p99_ms":41.5},
                   {"routing_state":{"routing_state":"started"},
                    "inference_count":0,"inference_cache_hit_count":0,"number_of_pending_requests":0,
                    "start_time":1667389834766,"threads_per_allocation":1,"number_of_allocations":1,
                    "peak_throughput_per_minute":0,"throughput_last_minute":0,"inference_cache_hit_count_last_minute":0}]}},
              {"model_id":"tree","model_size_stats":{"model_size_bytes":10,"required_native_memory_bytes":0},"pipeline_count":1}]}
            """, TrainedModelStatsJson.Render(response));
    }
}
