using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.ModelStore;
using TrainedModelsOrleans.Grains.Models;
using TrainedModelsOrleans.Grains.Serving;
using TrainedModelsOrleans.Grains.Wire;
using TrainedModelsOrleans.Runtime;
using TrainedModelsOrleans.Runtime.Cluster;
using Xunit;

namespace TrainedModelsOrleans.Grains.Tests.Wire;

/// <summary>What silos and clients exchange survives the wire as itself.</summary>
public sealed class GrainsWireTests
{
    private readonly Runtime.Serialization.WireSerializer _wire = RuntimeExceptionCodecs.Serializer(GrainsWire.JsonOptions(), GrainsWire.ExceptionCodecs());

    private T RoundTrip<T>(T value) => (T)_wire.DeserializeResult(_wire.SerializeResult(value, typeof(T)), typeof(T))!;

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
    public void A_tensor_with_a_partial_element_is_refused()
    {
        var payload = _wire.SerializeResult(InferenceTensor.Of("x", [1f, 2f], 2), typeof(InferenceTensor));
        var text = System.Text.Encoding.UTF8.GetString(payload);
        var broken = System.Text.Encoding.UTF8.GetBytes(text.Replace(Convert.ToBase64String(new byte[8] { 0, 0, 128, 63, 0, 0, 0, 64 }), "AAAA"));
        Assert.ThrowsAny<Exception>(() => _wire.DeserializeResult(broken, typeof(InferenceTensor)));
    }

    [Fact]
    public void Elasticsearch_errors_keep_status_type_reason_headers_and_causes()
    {
        var inner = ElasticsearchException.IllegalArgument("[number_of_allocations] must be a positive integer");
        var error = new ElasticsearchExceptionWithCause(400, "x_content_parse_exception", "[1:2] failed to parse", inner)
        {
            Headers = new Dictionary<string, string> { ["Warning"] = "299 Elasticsearch \"deprecated\"" },
        };

        var back = Assert.IsType<ElasticsearchExceptionWithCause>(_wire.DeserializeException(_wire.SerializeException(error)));

        Assert.Equal((400, "x_content_parse_exception", "[1:2] failed to parse"), (back.Status, back.Type, back.Reason));
        Assert.Equal("299 Elasticsearch \"deprecated\"", back.Headers!["Warning"]);
        Assert.Equal((400, "illegal_argument_exception", inner.Reason), (back.CausedBy.Status, back.CausedBy.Type, back.CausedBy.Reason));
        Assert.IsType<ElasticsearchException>(_wire.DeserializeException(_wire.SerializeException(ElasticsearchException.Conflict("busy"))));
    }

    [Fact]
    public void The_runtime_exceptions_callers_catch_keep_their_types()
    {
        var stale = new InconsistentStateException("stale", "3", "4");
        var back = Assert.IsType<InconsistentStateException>(_wire.DeserializeException(_wire.SerializeException(stale)));
        Assert.Equal(("3", "4"), (back.StoredEtag, back.CurrentEtag));
        Assert.IsType<SiloUnavailableException>(_wire.DeserializeException(_wire.SerializeException(new SiloUnavailableException("gone"))));
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
    public void Query_dictionaries_with_null_values_and_raw_bodies_cross_as_arguments()
    {
        IReadOnlyDictionary<string, string?> query = new Dictionary<string, string?> { ["wait_for"] = "started", ["pretty"] = null };
        var body = new byte[] { 0, 1, 2, 255 };
        var types = new[] { typeof(string), typeof(IReadOnlyDictionary<string, string?>), typeof(byte[]) };

        var back = _wire.DeserializeArguments(_wire.SerializeArguments(["m", query, body], types), types);

        Assert.Equal("m", back[0]);
        Assert.Equal(query.OrderBy(p => p.Key), ((IReadOnlyDictionary<string, string?>)back[1]!).OrderBy(p => p.Key));
        Assert.Equal(body, back[2]);
    }
}
