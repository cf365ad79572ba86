using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Ingest;
using Xunit;

namespace TrainedModelsOrleans.ControlPlaneRules.Tests.Ingest;

public class IngestDocumentTests
{
    private static IngestDocument Document(string source) =>
        new(JsonNode.Parse(source)!.AsObject(), new JsonObject { ["timestamp"] = "t" });

    [Fact]
    public void Set_creates_the_missing_objects_of_a_dotted_path()
    {
        var doc = Document("""{"a": {"x": 1}}""");
        doc.SetFieldValue("a.b.c", JsonValue.Create("v"));
        doc.SetFieldValue("_source.top", JsonValue.Create(2));
        doc.SetFieldValue("_ingest.note", JsonValue.Create("n"));
        Assert.Equal("""{"a":{"x":1,"b":{"c":"v"}},"top":2}""", doc.SourceAndMetadata.ToJsonString());
        Assert.Equal("n", doc.IngestMetadata["note"]!.GetValue<string>());
        Assert.Equal("v", doc.GetFieldValue("a.b.c")!.GetValue<string>());
    }

    [Fact]
    public void Paths_index_into_lists()
    {
        var doc = Document("""{"list": [{"n": 1}, {"n": 2}]}""");
        Assert.Equal(2, doc.GetFieldValue("list.1.n")!.GetValue<int>());
        doc.SetFieldValue("list.0.n", JsonValue.Create(9));
        Assert.Equal(9, doc.GetFieldValue("list.0.n")!.GetValue<int>());
        Assert.False(doc.HasField("list.5"));
        Expect.Error(() => doc.GetFieldValue("list.5"), 400, "illegal_argument_exception",
            "[5] is out of bounds for array with length [2] as part of path [list.5]");
        Expect.Error(() => doc.GetFieldValue("list.x"), 400, "illegal_argument_exception",
            "[x] is not an integer, cannot be used as an index as part of path [list.x]");
    }

    [Fact]
    public void Missing_fields_and_wrong_parents_fail_with_elasticsearch_texts()
    {
        var doc = Document("""{"s": "text", "n": null}""");
        Expect.Error(() => doc.GetFieldValue("nope"), 400, "illegal_argument_exception", "field [nope] not present as part of path [nope]");
        Expect.Error(() => doc.GetFieldValue("s.x"), 400, "illegal_argument_exception",
            "cannot resolve [x] from object of type [java.lang.String] as part of path [s.x]");
        Expect.Error(() => doc.SetFieldValue("s.x", JsonValue.Create(1)), 400, "illegal_argument_exception",
            "cannot set [x] with parent object of type [java.lang.String] as part of path [s.x]");
        Expect.Error(() => doc.SetFieldValue("n.x", JsonValue.Create(1)), 400, "illegal_argument_exception",
            "cannot set [x] with null parent as part of path [n.x]");
        Expect.Error(() => doc.RemoveField("gone"), 400, "illegal_argument_exception", "field [gone] not present as part of path [gone]");
        Expect.Error(() => doc.GetFieldValue(""), 400, "illegal_argument_exception", "path cannot be null nor empty");
        Assert.True(doc.HasField("n"));
        Assert.Null(doc.GetFieldValue("n"));
        Assert.Null(doc.GetFieldValue("nope", ignoreMissing: true));
    }

    [Fact]
    public void Append_turns_a_scalar_into_a_list_and_can_skip_duplicates()
    {
        var doc = Document("""{"tags": "a", "list": [1]}""");
        doc.AppendFieldValue("tags", new JsonArray("b", "a"));
        Assert.Equal("""["a","b","a"]""", doc.GetFieldValue("tags")!.ToJsonString());
        doc.AppendFieldValue("list", new JsonArray(1, 2), allowDuplicates: false);
        Assert.Equal("[1,2]", doc.GetFieldValue("list")!.ToJsonString());
        doc.AppendFieldValue("fresh", JsonValue.Create("x"));
        Assert.Equal("""["x"]""", doc.GetFieldValue("fresh")!.ToJsonString());
    }

    [Fact]
    public void Templates_render_fields_escaped_or_raw()
    {
        var doc = Document("""{"user": {"name": "a \"b\""}, "n": 1.0, "list": ["x", "y"]}""");
        Assert.Equal("hi a \\\"b\\\"!", FieldTemplate.Parse("hi {{user.name}}!", "set", null, "value").Render(doc));
        Assert.Equal("a \"b\"", FieldTemplate.Parse("{{{user.name}}}", "set", null, "value").Render(doc));
        Assert.Equal("1.0|y|t|", FieldTemplate.Parse("{{n}}|{{list.1}}|{{_ingest.timestamp}}|{{missing}}", "set", null, "value").Render(doc));
        Expect.Error(() => FieldTemplate.Parse("{{#list}}x{{/list}}", "set", "t1", "value"), 400, "parse_exception",
            "[value] template [{{#list}}x{{/list}}] is not supported here");
    }

    [Fact]
    public void Simulate_timestamps_print_as_java_does()
    {
        Assert.Equal("2024-05-06T07:08:09.123Z", SimulateRequest.JavaTimestamp(new DateTimeOffset(2024, 5, 6, 7, 8, 9, 123, TimeSpan.Zero)));
        Assert.Equal("2024-05-06T07:08Z", SimulateRequest.JavaTimestamp(new DateTimeOffset(2024, 5, 6, 7, 8, 0, TimeSpan.Zero)));
        Assert.Equal("2024-05-06T07:08:09.000100Z",
            SimulateRequest.JavaTimestamp(new DateTimeOffset(2024, 5, 6, 7, 8, 9, TimeSpan.Zero).AddTicks(1000)));
    }
}
