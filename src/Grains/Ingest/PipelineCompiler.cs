using System.Text.Json;
using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Ingest.Processors;
using TrainedModelsOrleans.Grains.Pipelines;

namespace TrainedModelsOrleans.Grains.Ingest;

/// <summary>A pipeline ready to run: its id and its processors with the pipeline's on_failure around them.</summary>
public sealed record CompiledPipeline(string Id, CompoundStep Root);

/// <summary>
/// Builds the processors of a pipeline body (already checked by <see cref="IngestPipeline.Parse(string, string)"/>) as ES's
/// Pipeline.create and ConfigurationUtils.readProcessor do: tag, description, <c>if</c>, <c>ignore_failure</c>,
/// <c>on_failure</c>, then the processor's own options, and nothing left over. Types ES knows but this service does
/// not run, and scripts outside <see cref="PainlessSubset"/>, are refused here (400), so at PUT and at simulate.
/// </summary>
public static class PipelineCompiler
{
    /// <summary>The processor types that run here.</summary>
    public static readonly IReadOnlyList<string> SupportedTypes =
        ["append", "convert", "drop", "fail", "foreach", "inference", "lowercase", "remove", "rename", "script", "set", "trim", "uppercase"];

    public static CompiledPipeline Compile(string id, JsonObject body)
    {
        var processors = ReadList(body["processors"]);
        var onFailure = body["on_failure"] is JsonArray list ? ReadList(list) : [];
        return new CompiledPipeline(id, new CompoundStep(false, processors, onFailure));
    }

    private static List<PipelineStep> ReadList(JsonNode? list) =>
        (list as JsonArray ?? new JsonArray()).Select(entry => entry!.AsObject().First()).Select(p => ReadProcessor(p.Key, p.Value)).ToList();

    private static PipelineStep ReadProcessor(string type, JsonNode? definition)
    {
        var configObject = definition is JsonValue v && v.GetValueKind() == JsonValueKind.String && type == "script"
            ? new JsonObject { ["source"] = v.GetValue<string>() }
            : (JsonObject)definition!.DeepClone();
        var tag = IngestValues.AsString(configObject["tag"]);
        var config = new ProcessorConfig(type, tag, configObject);
        config.Remove("tag");
        var description = config.ReadOptionalString("description");
        var (condition, conditionSource) = ReadCondition(config);
        var ignoreFailure = config.ReadBoolean("ignore_failure", false);
        var onFailure = config.ReadOptionalList("on_failure") is { } handlers ? ReadList(handlers) : [];

        IngestProcessor processor = type switch
        {
            "set" => SetProcessor.Create(config, description),
            "remove" => RemoveProcessor.Create(config, description),
            "rename" => RenameProcessor.Create(config, description),
            "append" => AppendProcessor.Create(config, description),
            "convert" => ConvertProcessor.Create(config, description),
            "lowercase" or "uppercase" or "trim" => StringProcessor.Create(config, description),
            "fail" => FailProcessor.Create(config, description),
            "drop" => new DropProcessor(tag, description),
            "script" => new ScriptProcessor(tag, description, ReadScript(config)),
            "inference" => InferenceProcessor.Create(config, description),
            "foreach" => ReadForEach(config, description),
            _ => throw config.Error(null,
                $"processor type [{type}] is known to Elasticsearch but not supported here; the processors that run here are {string.Join(", ", SupportedTypes)}"),
        };
        config.EnsureConsumed();

        PipelineStep step = new ProcessorStep(processor, condition, conditionSource);
        return onFailure.Count > 0 || ignoreFailure ? new CompoundStep(ignoreFailure, [step], onFailure) : step;
    }

    // ForEachProcessor.Factory: field, ignore_missing, and one processor (its shape checked by IngestPipeline.Parse).
    private static ForEachProcessor ReadForEach(ProcessorConfig config, string? description)
    {
        var field = config.ReadString("field");
        var ignoreMissing = config.ReadBoolean("ignore_missing", false);
        var inner = config.ReadOptionalMap("processor") ?? throw config.Error("processor", "required property is missing");
        if (inner.Count != 1) throw config.Error("processor", "Must specify exactly one processor type");
        var (type, definition) = inner.First();
        return new ForEachProcessor(config.Tag, description, field, ReadProcessor(type, definition), ignoreMissing);
    }

    private static (PainlessSubset.Expression?, string?) ReadCondition(ProcessorConfig config)
    {
        var node = config.Remove("if");
        if (node is null) return (null, null);
        var source = ScriptSource(node, config, "if");
        try
        {
            return (PainlessSubset.ParseCondition(source), source);
        }
        catch (PainlessSubset.UnsupportedScriptException e)
        {
            throw config.Error("if",
                $"script [{source}] is not supported here ({e.Message}); conditions may read ctx fields (ctx.a.b, ctx.a?.b, ctx['a']) and use ==, !=, <, <=, >, >= against string, number, boolean and null literals, &&, ||, ! and parentheses");
        }
    }

    private static PainlessSubset.Statement ReadScript(ProcessorConfig config)
    {
        if (config.Contains("id")) throw config.Error("id", "stored scripts are not supported here; give the script's [source]");
        var lang = config.ReadOptionalString("lang");
        if (lang is not null && lang != "painless") throw config.Error("lang", $"script language [{lang}] is not supported here; only painless");
        var source = config.ReadOptionalString("source") ?? config.ReadOptionalString("inline")
                     ?? throw config.Error("source", "required property is missing");
        config.ReadOptionalMap("params");
        config.ReadOptionalMap("options");
        try
        {
            return PainlessSubset.ParseScript(source);
        }
        catch (PainlessSubset.UnsupportedScriptException e)
        {
            throw config.Error("source",
                $"script [{source}] is not supported here ({e.Message}); scripts may assign ctx fields (ctx.a = ctx.b, ctx.x = 'literal', ctx.n = 5) and use if/else on conditions");
        }
    }

    // An if is Painless source, or a script object ({"source", "lang", "params"}).
    private static string ScriptSource(JsonNode node, ProcessorConfig config, string property)
    {
        if (IngestValues.AsString(node) is { } text) return text;
        var script = (JsonObject)node;
        if (script.ContainsKey("id")) throw config.Error(property, "stored scripts are not supported here; give the script's [source]");
        if (IngestValues.AsString(script["lang"]) is { } lang && lang != "painless")
            throw config.Error(property, $"script language [{lang}] is not supported here; only painless");
        return IngestValues.AsString(script["source"]) ?? throw config.Error(property, "[source] is required");
    }
}
