using System.Text.Json.Nodes;
using Xunit;
using static TrainedModelsOrleans.ControlPlaneRules.Tests.Ingest.Simulation;

namespace TrainedModelsOrleans.ControlPlaneRules.Tests.Ingest;

public class ProcessorTests
{
    [Fact]
    public async Task Set_writes_templates_and_respects_override_and_empty_values()
    {
        var source = await SourceAsync("""
            {"processors": [
              {"set": {"field": "greeting", "value": "hello {{user.name}}"}},
              {"set": {"field": "copy", "copy_from": "user"}},
              {"set": {"field": "user.name", "value": "other", "override": false}},
              {"set": {"field": "empty", "value": "{{missing}}", "ignore_empty_value": true}},
              {"set": {"field": "{{user.name}}_key", "value": [1, "{{user.name}}"]}}
            ]}
            """, """{"user": {"name": "ann"}}""");
        Assert.Equal("""{"user":{"name":"ann"},"greeting":"hello ann","copy":{"name":"ann"},"ann_key":[1,"ann"]}""", Json(source));
    }

    [Fact]
    public async Task Set_refuses_both_value_and_copy_from()
    {
        var e = await Assert.ThrowsAsync<TrainedModelsOrleans.Grains.Pipelines.IngestConfigurationException>(() =>
            RunAsync("""{"processors": [{"set": {"field": "a", "value": 1, "copy_from": "b"}}]}""", """[{"_source": {}}]"""));
        Assert.Equal("[copy_from] cannot set both `copy_from` and `value` in the same processor", e.Reason);
    }

    [Fact]
    public async Task Remove_takes_fields_or_keeps_some_and_can_ignore_missing()
    {
        Assert.Equal("""{"c":3}""", Json(await SourceAsync("""
            {"processors": [{"remove": {"field": ["a", "b", "zz"], "ignore_missing": true}}]}
            """, """{"a": 1, "b": 2, "c": 3}""")));
        Assert.Equal("""{"a":{"x":1},"c":{"d":[1]}}""", Json(await SourceAsync("""
            {"processors": [{"remove": {"keep": ["a.x", "c"]}}]}
            """, """{"a": {"x": 1, "y": 2}, "b": 2, "c": {"d": [1]}}""")));
        var error = await ErrorAsync("""{"processors": [{"remove": {"field": "zz"}}]}""", "{}");
        Assert.Equal("field [zz] not present as part of path [zz]", error["reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task Rename_moves_a_field_and_refuses_an_existing_target()
    {
        Assert.Equal("""{"b":{"c":1}}""", Json(await SourceAsync("""{"processors": [{"rename": {"field": "a", "target_field": "b.c"}}]}""", """{"a": 1}""")));
        var error = await ErrorAsync("""{"processors": [{"rename": {"field": "a", "target_field": "b"}}]}""", """{"a": 1, "b": 2}""");
        Assert.Equal("field [b] already exists", error["reason"]!.GetValue<string>());
        error = await ErrorAsync("""{"processors": [{"rename": {"field": "x", "target_field": "b"}}]}""", "{}");
        Assert.Equal("field [x] doesn't exist", error["reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task Append_adds_values_with_or_without_duplicates()
    {
        Assert.Equal("""{"tags":["a","b","a"],"t2":["a","b"]}""", Json(await SourceAsync("""
            {"processors": [
              {"append": {"field": "tags", "value": ["b", "{{t2}}"]}},
              {"append": {"field": "t2", "value": ["a", "b"], "allow_duplicates": false}}
            ]}
            """, """{"tags": "a", "t2": "a"}""")));
    }

    [Fact]
    public async Task Convert_handles_every_type_and_lists()
    {
        var source = await SourceAsync("""
            {"processors": [
              {"convert": {"field": "i", "type": "integer"}},
              {"convert": {"field": "hex", "type": "long"}},
              {"convert": {"field": "f", "type": "float", "target_field": "f2"}},
              {"convert": {"field": "d", "type": "double"}},
              {"convert": {"field": "b", "type": "boolean"}},
              {"convert": {"field": "s", "type": "string"}},
              {"convert": {"field": "ip", "type": "ip"}},
              {"convert": {"field": "list", "type": "integer"}},
              {"convert": {"field": "auto", "type": "auto"}},
              {"convert": {"field": "none", "type": "integer", "ignore_missing": true}}
            ]}
            """, """{"i": "12", "hex": "0x1F", "f": "1.5", "d": "2", "b": "TRUE", "s": 7, "ip": "10.0.0.1", "list": ["1", "2"], "auto": ["true", "3", "x"]}""");
        Assert.Equal(12, source["i"]!.GetValue<int>());
        Assert.Equal(31L, source["hex"]!.GetValue<long>());
        Assert.Equal(1.5f, source["f2"]!.GetValue<float>());
        Assert.Equal("2.0", Json(source["d"])); // as Jackson writes a double
        Assert.True(source["b"]!.GetValue<bool>());
        Assert.Equal("7", source["s"]!.GetValue<string>());
        Assert.Equal("10.0.0.1", source["ip"]!.GetValue<string>());
        Assert.Equal("[1,2]", Json(source["list"]));
        Assert.Equal("""[true,3,"x"]""", Json(source["auto"]));
        Assert.False(source.AsObject().ContainsKey("none"));

        var error = await ErrorAsync("""{"processors": [{"convert": {"field": "i", "type": "integer"}}]}""", """{"i": "x1"}""");
        Assert.Equal("unable to convert [x1] to integer", error["reason"]!.GetValue<string>());
        error = await ErrorAsync("""{"processors": [{"convert": {"field": "b", "type": "boolean"}}]}""", """{"b": "yes"}""");
        Assert.Equal("[yes] is not a boolean value, cannot convert to boolean", error["reason"]!.GetValue<string>());
        error = await ErrorAsync("""{"processors": [{"convert": {"field": "ip", "type": "ip"}}]}""", """{"ip": "300.1"}""");
        Assert.Equal("'300.1' is not an IP string literal.", error["reason"]!.GetValue<string>());
        var refused = await Assert.ThrowsAsync<TrainedModelsOrleans.Grains.Pipelines.IngestConfigurationException>(() =>
            RunAsync("""{"processors": [{"convert": {"field": "a", "type": "date"}}]}""", """[{"_source": {}}]"""));
        Assert.Equal("[type] type [date] not supported, cannot convert field.", refused.Reason);
    }

    [Fact]
    public async Task String_processors_change_strings_and_refuse_other_values()
    {
        Assert.Equal("""{"a":"MiXed","b":"  pad  ","up":["X","Y"],"low":"mixed","b2":"pad"}""", Json(await SourceAsync("""
            {"processors": [
              {"lowercase": {"field": "a", "target_field": "low"}},
              {"uppercase": {"field": "up"}},
              {"trim": {"field": "b", "target_field": "b2"}},
              {"trim": {"field": "none", "ignore_missing": true}}
            ]}
            """, """{"a": "MiXed", "b": "  pad  ", "up": ["x", "y"]}""")));
        var error = await ErrorAsync("""{"processors": [{"lowercase": {"field": "n"}}]}""", """{"n": 5}""");
        Assert.Equal("field [n] of type [java.lang.Integer] cannot be cast to [java.lang.String]", error["reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task Script_runs_assignments_and_conditions_of_the_subset()
    {
        Assert.Equal("""{"b":"x","n":{"c":5},"a":"x","lit":"it's","num":2.5,"flag":true}""", Json(await SourceAsync("""
            {"processors": [{"script": {"source": "ctx.a = ctx.b; ctx['lit'] = 'it\\'s'; if (ctx.n?.c >= 5 && ctx.missing == null) { ctx.num = 2.5; ctx.flag = true } else { ctx.num = -1 }"}}]}
            """, """{"b": "x", "n": {"c": 5}}""")));
        Assert.Equal("""{"x":1}""", Json(await SourceAsync("""{"processors": [{"script": "ctx.x = 1"}]}""", "{}")));
    }

    [Fact]
    public async Task Scripts_outside_the_subset_are_refused_naming_the_script()
    {
        var e = await Assert.ThrowsAsync<TrainedModelsOrleans.Grains.Pipelines.IngestConfigurationException>(() =>
            RunAsync("""{"processors": [{"script": {"source": "ctx.a = ctx.b.toUpperCase()"}}]}""", """[{"_source": {}}]"""));
        Assert.Equal(400, e.Status);
        Assert.StartsWith("[source] script [ctx.a = ctx.b.toUpperCase()] is not supported here (method calls are not run here", e.Reason);
        e = await Assert.ThrowsAsync<TrainedModelsOrleans.Grains.Pipelines.IngestConfigurationException>(() =>
            RunAsync("""{"processors": [{"set": {"field": "a", "value": 1, "if": "ctx.list.size() > 0"}}]}""", """[{"_source": {}}]"""));
        Assert.StartsWith("[if] script [ctx.list.size() > 0] is not supported here", e.Reason);
        e = await Assert.ThrowsAsync<TrainedModelsOrleans.Grains.Pipelines.IngestConfigurationException>(() =>
            RunAsync("""{"processors": [{"script": {"lang": "mustache", "source": "x"}}]}""", """[{"_source": {}}]"""));
        Assert.Equal("[lang] script language [mustache] is not supported here; only painless", e.Reason);
    }

    [Fact]
    public async Task Fail_fails_with_its_message_and_drop_drops()
    {
        var error = await ErrorAsync("""{"processors": [{"fail": {"message": "bad {{code}}"}}]}""", """{"code": 7}""");
        Assert.Equal("fail_processor_exception", error["type"]!.GetValue<string>());
        Assert.Equal("bad 7", error["reason"]!.GetValue<string>());
        Assert.Equal("fail_processor_exception", error["root_cause"]![0]!["type"]!.GetValue<string>());

        var answer = await RunAsync("""{"processors": [{"drop": {"if": "ctx.skip == true"}}]}""",
            """[{"_source": {"skip": true}}, {"_source": {"skip": false}}]""");
        Assert.Null(answer["docs"]![0]);
        Assert.NotNull(answer["docs"]![1]!["doc"]);
    }

    [Fact]
    public async Task Foreach_runs_its_processor_over_each_element_or_entry()
    {
        Assert.Equal("""{"list":["A","B"],"map":{"x":"1!","y":"2!"}}""", Json(await SourceAsync("""
            {"processors": [
              {"foreach": {"field": "list", "processor": {"uppercase": {"field": "_ingest._value"}}}},
              {"foreach": {"field": "map", "processor": {"set": {"field": "_ingest._value", "value": "{{_ingest._value}}!"}}}},
              {"foreach": {"field": "none", "ignore_missing": true, "processor": {"drop": {}}}}
            ]}
            """, """{"list": ["a", "b"], "map": {"x": 1, "y": 2}}""")));
        var error = await ErrorAsync("""{"processors": [{"foreach": {"field": "s", "processor": {"drop": {}}}}]}""", """{"s": "x"}""");
        Assert.Equal("field [s] of type [java.lang.String] cannot be cast to a list or a map", error["reason"]!.GetValue<string>());
        error = await ErrorAsync("""{"processors": [{"foreach": {"field": "list", "processor": {"fail": {"message": "at {{_ingest._value}}"}}}}]}""",
            """{"list": [1, 2]}""");
        Assert.Equal("at 1", error["reason"]!.GetValue<string>());
    }

    [Fact]
    public async Task Processor_types_elasticsearch_knows_but_we_do_not_run_are_refused()
    {
        var e = await Assert.ThrowsAsync<TrainedModelsOrleans.Grains.Pipelines.IngestConfigurationException>(() =>
            RunAsync("""{"processors": [{"grok": {"field": "m", "patterns": ["%{WORD:w}"], "tag": "g"}}]}""", """[{"_source": {}}]"""));
        Assert.Equal(400, e.Status);
        Assert.StartsWith("processor type [grok] is known to Elasticsearch but not supported here", e.Reason);
        Assert.Equal("grok", e.ProcessorType);
        Assert.Equal("g", e.ProcessorTag);
    }

    [Fact]
    public async Task Unknown_options_are_refused_as_elasticsearch_does()
    {
        var e = await Assert.ThrowsAsync<TrainedModelsOrleans.Grains.Pipelines.IngestConfigurationException>(() =>
            RunAsync("""{"processors": [{"set": {"field": "a", "value": 1, "colour": "red"}}]}""", """[{"_source": {}}]"""));
        Assert.Equal("processor [set] doesn't support one or more provided configuration parameters [colour]", e.Reason);
        e = await Assert.ThrowsAsync<TrainedModelsOrleans.Grains.Pipelines.IngestConfigurationException>(() =>
            RunAsync("""{"processors": [{"set": {"value": 1}}]}""", """[{"_source": {}}]"""));
        Assert.Equal("[field] required property is missing", e.Reason);
    }
}
