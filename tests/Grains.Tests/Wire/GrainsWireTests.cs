using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using Orleans.Serialization;
using Orleans.Storage;
using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.ModelStore;
using TrainedModelsOrleans.Grains.Models;
using TrainedModelsOrleans.Grains.Serving;
using TrainedModelsOrleans.Grains.Wire;
using Xunit;

namespace TrainedModelsOrleans.Grains.Tests.Wire;

/// <summary>What silos and clients exchange survives Orleans' serializer (as configured by silos and clients) as itself.</summary>
public sealed class GrainsWireTests : IDisposable
{
    private readonly ServiceProvider _services = new ServiceCollection()
        .AddSerializer(s => s.AddTrainedModelsSerializers())
        .BuildServiceProvider();

    private Serializer Wire => _services.GetRequiredService<Serializer>();

    private T RoundTrip<T>(T value) => Wire.Deserialize<T>(Wire.SerializeToArray(value))!;

    public void Dispose() => _services.Dispose();

    [Fact]
    public void Tensors_keep_element_type_shape_and_exact_values()
    {
        var floats = InferenceTensor.Of("x", [1.5f, float.NaN, -0f, float.MaxValue, 1e-30f, 7f], 2, 3);
        var longs = InferenceTensor.Of("ids", [101L, long.MinValue, 0L], 1, 3);
        var strings = new InferenceTensor("s", "string", [2], new[] { "a", "é" });

        var back = RoundTrip(new[] { new[] { floats, longs }, new[] { strings } });

        Assert.Equal([2L, 3L], back[0][0].Shape);
        Assert.Equal("float", back[0][0].ElementType);
        Assert.Equal(BitConverter.GetBytes(float.NaN), BitConverter.GetBytes(((float[])back[0][0].Data)[1]));
        Assert.Equal((float[])floats.Data, (float[])back[0][0].Data);
        Assert.Equal((long[])longs.Data, (long[])back[0][1].Data);
        Assert.Equal(["a", "é"], (string[])back[1][0].Data);
    }

    [Fact]
    public void Elasticsearch_errors_keep_status_type_reason_headers_and_causes()
    {
        var inner = ElasticsearchException.IllegalArgument("[number_of_allocations] must be a positive integer");
        var error = new ElasticsearchExceptionWithCause(400, "x_content_parse_exception", "[1:2] failed to parse", inner)
        {
            Headers = new Dictionary<string, string> { ["Warning"] = "299 Elasticsearch \"deprecated\"" },
        };

        var back = Assert.IsType<ElasticsearchExceptionWithCause>(RoundTrip<Exception>(error));

        Assert.Equal((400, "x_content_parse_exception", "[1:2] failed to parse"), (back.Status, back.Type, back.Reason));
        Assert.Equal("[1:2] failed to parse", back.Message);
        Assert.Equal("299 Elasticsearch \"deprecated\"", back.Headers!["Warning"]);
        Assert.Equal((400, "illegal_argument_exception", inner.Reason), (back.CausedBy.Status, back.CausedBy.Type, back.CausedBy.Reason));
        var conflict = Assert.IsType<ElasticsearchException>(RoundTrip<Exception>(ElasticsearchException.Conflict("busy")));
        Assert.Equal((409, "status_exception", "busy"), (conflict.Status, conflict.Type, conflict.Reason));
    }

    [Fact]
    public void The_runtime_exceptions_callers_catch_keep_their_types()
    {
        var stale = new InconsistentStateException("stale", "3", "4");
        var back = Assert.IsType<InconsistentStateException>(RoundTrip<Exception>(stale));
        Assert.Equal(("3", "4"), (back.StoredEtag, back.CurrentEtag));
        Assert.IsType<SiloUnavailableException>(RoundTrip<Exception>(new SiloUnavailableException("gone")));
    }

    [Fact]
    public void Assignments_and_responses_cross_unchanged()
    {
        var assignment = new TrainedModelAssignment
        {
            TaskParameters = new TaskParameters { ModelId = "m", DeploymentId = "d", NumberOfAllocations = 3, CacheSize = "10kb", Priority = Priority.Low },
            RoutingTable = new Dictionary<string, RoutingInfo>
            {
                ["node-1"] = new() { CurrentAllocations = 2, TargetAllocations = 2, RoutingState = RoutingState.Started },
                ["node-2"] = new() { CurrentAllocations = 0, TargetAllocations = 1, RoutingState = RoutingState.Failed, Reason = "no memory" },
            },
            AssignmentState = AssignmentState.Started,
            StartTime = 1_700_000_000_000,
            MaxAssignedAllocations = 3,
        };
        var back = RoundTrip(assignment);
        Assert.Equal(assignment.TaskParameters, back.TaskParameters);
        Assert.Equal(assignment.RoutingTable.OrderBy(r => r.Key), back.RoutingTable.OrderBy(r => r.Key));
        Assert.Equal((assignment.AssignmentState, assignment.StartTime, assignment.MaxAssignedAllocations),
            (back.AssignmentState, back.StartTime, back.MaxAssignedAllocations));

        var response = new StoreResponse(new JsonObject { ["acknowledged"] = true }, ["299 Elasticsearch \"w\""]);
        var echoed = RoundTrip(response);
        Assert.Equal(response.Body.ToJsonString(), echoed.Body.ToJsonString());
        Assert.Equal(response.Warnings, echoed.Warnings);

        var route = new NodeRoute("d", "m", 2, 3, Priority.Normal, RoutingState.Starting, 16, 1024);
        Assert.Equal(route, RoundTrip(route));
    }

    [Fact]
    public void Model_configs_with_collection_expressions_and_json_parts_cross_unchanged()
    {
        var config = new TrainedModelConfig
        {
            ModelId = "m", ModelType = TrainedModelType.Onnx, TaskType = InferenceTaskType.PassThrough,
            Tags = ["a", "b"],
            Input = new TrainedModelInput { FieldNames = ["text_field"] },
            InferenceConfig = new JsonObject { ["pass_through"] = new JsonObject { ["tokenization"] = new JsonObject() } },
            Metadata = new JsonObject { ["n"] = 1 },
            Onnx = new OnnxModelSignature { Inputs = [new OnnxTensorInfo { Name = "x", ElementType = "float", Shape = [-1, 3] }] },
        };
        var back = RoundTrip(config);
        Assert.Equal(["a", "b"], back.Tags);
        Assert.Equal(["text_field"], back.Input.FieldNames);
        Assert.Equal(config.InferenceConfig.ToJsonString(), back.InferenceConfig.ToJsonString());
        Assert.Equal([-1L, 3L], back.Onnx!.Inputs[0].Shape);

        var progress = new DefinitionProgress { TotalParts = 2, TotalDefinitionLength = 10, PartLengths = new Dictionary<int, long> { [0] = 4 } };
        Assert.Equal(4, RoundTrip(progress).PartLengths[0]);
    }

    [Fact]
    public void Listing_and_stats_responses_cross_unchanged()
    {
        var config = new TrainedModelConfig
        {
            ModelId = "tree", ModelType = TrainedModelType.TreeEnsemble, TaskType = InferenceTaskType.Regression,
            Input = new TrainedModelInput { FieldNames = ["col1"] }, InferenceConfig = new JsonObject { ["regression"] = new JsonObject() },
        };
        var listing = RoundTrip(new GetTrainedModelsResponse
        {
            Count = 7,
            TrainedModelConfigs =
            [
                new ListedTrainedModel
                {
                    Config = config,
                    Definition = new JsonObject { ["trained_model"] = new JsonObject { ["n"] = 1.50 } },
                    DefinitionProgress = new DefinitionProgress { TotalParts = 3, TotalDefinitionLength = 30, PartLengths = new Dictionary<int, long> { [2] = 10 } },
                },
            ],
        });
        Assert.Equal(7, listing.Count);
        Assert.Equal("tree", Assert.Single(listing.TrainedModelConfigs).Config.ModelId);
        Assert.Equal("""{"trained_model":{"n":1.5}}""", listing.TrainedModelConfigs[0].Definition!.ToJsonString());
        var progress = listing.TrainedModelConfigs[0].DefinitionProgress!;
        Assert.Equal((3, 30L, 10L), (progress.TotalParts, progress.TotalDefinitionLength, progress.PartLengths[2]));

        var assignment = new TrainedModelAssignment
        {
            TaskParameters = new TaskParameters { ModelId = "m", DeploymentId = "d", NumberOfAllocations = 2 },
            RoutingTable = new Dictionary<string, RoutingInfo> { ["node-1"] = new() { CurrentAllocations = 2, TargetAllocations = 2, RoutingState = RoutingState.Started } },
            AssignmentState = AssignmentState.Started,
        };
        var node = new NodeDeploymentStats("node-1", 3, 1, 12.5, null, 0, 0, 1, 0, 3, 2, null, 1_700_000_000_000);
        var stats = RoundTrip(new GetTrainedModelStatsResponse
        {
            Count = 1,
            TrainedModelStats =
            [
                new TrainedModelStats
                {
                    ModelId = "m",
                    ModelSizeStats = new TrainedModelSizeStats { ModelSizeBytes = 10, RequiredNativeMemoryBytes = 20 },
                    PipelineCount = 2,
                    InferenceStats = new InferenceStats { InferenceCount = 4, Timestamp = 5 },
                    DeploymentStats = new TrainedModelDeploymentStats
                    {
                        Assignment = assignment,
                        Nodes =
                        [
                            new TrainedModelDeploymentNodeStats
                            {
                                NodeId = "node-1", Stats = node,
                                Node = new NodeDescription { Id = "node-1", Name = "node-1", TransportAddress = "node-1", Attributes = new Dictionary<string, string> { ["a"] = "b" } },
                            },
                            new TrainedModelDeploymentNodeStats { NodeId = "node-2" },
                        ],
                    },
                },
            ],
        });
        var entry = Assert.Single(stats.TrainedModelStats);
        Assert.Equal((1L, "m", 10L, 20L, 2), (stats.Count, entry.ModelId, entry.ModelSizeStats.ModelSizeBytes, entry.ModelSizeStats.RequiredNativeMemoryBytes, entry.PipelineCount));
        Assert.Equal(new InferenceStats { InferenceCount = 4, Timestamp = 5 }, entry.InferenceStats);
        var deployment = entry.DeploymentStats!;
        Assert.Equal(assignment.TaskParameters, deployment.Assignment.TaskParameters);
        Assert.Equal(assignment.RoutingTable["node-1"], deployment.Assignment.RoutingTable["node-1"]);
        Assert.Equal(node, deployment.Nodes[0].Stats);
        Assert.Equal(("node-1", "b", "ml"), (deployment.Nodes[0].Node!.Name, deployment.Nodes[0].Node!.Attributes["a"], Assert.Single(deployment.Nodes[0].Node!.Roles)));
        Assert.Equal(("node-2", null, null), (deployment.Nodes[1].NodeId, deployment.Nodes[1].Node, deployment.Nodes[1].Stats));
    }

    [Fact]
    public void Query_dictionaries_with_null_values_and_raw_bodies_cross_as_arguments()
    {
        IReadOnlyDictionary<string, string?> query = new Dictionary<string, string?> { ["wait_for"] = "started", ["pretty"] = null };
        Assert.Equal(query.OrderBy(p => p.Key), RoundTrip(query).OrderBy(p => p.Key));
        Assert.Equal(new byte[] { 0, 1, 2, 255 }, RoundTrip(new byte[] { 0, 1, 2, 255 }));
        Assert.Equal("[1,{\"a\":null}]", RoundTrip(new JsonArray(1, new JsonObject { ["a"] = null })).ToJsonString());
    }
}
