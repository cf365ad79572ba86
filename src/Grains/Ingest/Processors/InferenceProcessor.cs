using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Errors;

namespace TrainedModelsOrleans.Grains.Ingest.Processors;

/// <summary>
/// ES's InferenceProcessor (x-pack ml). Two forms:
/// <list type="bullet">
/// <item><c>target_field</c> (default <c>ml.inference</c>, or <c>ml.inference.&lt;tag&gt;</c> when tagged) and <c>field_map</c>:
/// the whole document (with <c>_ingest</c>, fields renamed by the map) goes to the model; the result object, with
/// <c>model_id</c>, is set at the target (appended when the target exists).</item>
/// <item><c>input_output</c> (<c>input_field</c> / <c>output_field</c>): each input's text goes to the model and its
/// predicted value is written at the output field, the other result fields and <c>model_id</c> (once) beside it;
/// <c>ignore_missing</c> skips missing inputs.</item>
/// </list>
/// The documents of a batch go to the model in one call; a failed call is retried document by document so that
/// each document gets its own error, except a missing or undeployed model, which fails them all at once.
/// </summary>
public sealed class InferenceProcessor : IngestProcessor
{
    private const string DefaultTargetField = "ml.inference";

    private readonly string _modelId;
    private readonly string? _targetField;
    private readonly IReadOnlyList<KeyValuePair<string, string>> _fieldMap;
    private readonly JsonObject? _inferenceConfig;
    private readonly IReadOnlyList<(string Input, string? BasePath, string Output)>? _inputs;
    private readonly bool _ignoreMissing;

    private InferenceProcessor(string? tag, string? description, string modelId, string? targetField,
        IReadOnlyList<KeyValuePair<string, string>> fieldMap, JsonObject? inferenceConfig,
        IReadOnlyList<(string, string?, string)>? inputs, bool ignoreMissing) : base("inference", tag, description)
    {
        (_modelId, _targetField, _fieldMap, _inferenceConfig, _inputs, _ignoreMissing) =
            (modelId, targetField, fieldMap, inferenceConfig, inputs, ignoreMissing);
    }

    public string ModelId => _modelId;

    public static InferenceProcessor Create(ProcessorConfig config, string? description)
    {
        var modelId = config.ReadString("model_id");
        var inferenceConfig = config.ReadOptionalMap("inference_config");
        if (inferenceConfig is not null && (inferenceConfig.Count != 1 || inferenceConfig.First().Value is not JsonObject))
            throw ElasticsearchException.BadRequest("inference_config must be an object with one inference type mapped to an object.");
        var inputOutput = config.Remove("input_output");
        var ignoreMissing = config.ReadBoolean("ignore_missing", false);

        if (inputOutput is not null)
        {
            if (config.Contains("target_field"))
                throw config.Error("target_field",
                    "option is incompatible with [input_output]. Use the [output_field] option to specify where to write the inference results to.");
            if (config.Contains("field_map")) throw config.Error("field_map", "option is incompatible with [input_output].");
            if (inferenceConfig?.First().Value is JsonObject update && update.ContainsKey("results_field"))
                throw config.Error(null,
                    "The [inference_config.results_field] setting is incompatible with using [input_output]. Prefer to use the [input_output.output_field] option to specify where to write the inference results to.");
            List<JsonNode?> entries = inputOutput switch
            {
                JsonArray list => list.ToList(),
                JsonObject single => [single],
                _ => throw config.Error("input_output", "property isn't a map or list of maps"),
            };
            if (entries.Count == 0) throw config.Error("input_output", "property cannot be empty at least one is required");
            var inputs = new List<(string Input, string? BasePath, string Output)>();
            foreach (var entry in entries)
            {
                if (entry is not JsonObject map) throw config.Error("input_output", $"property isn't a list of maps, but contains [{IngestValues.JavaType(entry)}]");
                var io = new ProcessorConfig(config.Type, config.Tag, map);
                var input = io.ReadString("input_field");
                var output = io.ReadString("output_field");
                // Other keys of an entry are kept by ES as the input's extras; they change nothing here.
                if (inputs.Any(i => i.Input == input)) throw config.Error("input_field", $"names must be unique but [{input}] is repeated");
                if (inputs.Any(i => (i.BasePath is null ? i.Output : i.BasePath + "." + i.Output) == output))
                    throw config.Error("output_field", $"names must be unique but [{output}] is repeated");
                var dot = output.LastIndexOf('.');
                inputs.Add(dot > 0 ? (input, output[..dot], output[(dot + 1)..]) : (input, null, output));
            }
            return new InferenceProcessor(config.Tag, description, modelId, null, [], inferenceConfig, inputs, ignoreMissing);
        }

        var target = config.ReadString("target_field", config.Tag is null ? DefaultTargetField : DefaultTargetField + "." + config.Tag);
        var fieldMap = config.ReadOptionalMap("field_map") ?? config.ReadOptionalMap("field_mappings");
        var mappings = new List<KeyValuePair<string, string>>();
        foreach (var (from, to) in fieldMap ?? new JsonObject())
            mappings.Add(KeyValuePair.Create(from, IngestValues.AsString(to)
                ?? throw config.Error("field_map", $"the value of [{from}] isn't a string, but of type [{IngestValues.JavaType(to)}]")));
        return new InferenceProcessor(config.Tag, description, modelId, target, mappings, inferenceConfig, null, ignoreMissing);
    }

    public override async Task<StepOutcome[]> ExecuteAsync(IReadOnlyList<IngestDocument> documents, RunContext context)
    {
        var outcomes = new StepOutcome[documents.Count];
        // Each request is (document, input): one for the whole document, one per present input with input_output.
        var requests = new List<(int Document, int Input, JsonObject Body)>();
        for (var i = 0; i < documents.Count; i++)
        {
            try
            {
                if (_inputs is null) requests.Add((i, 0, ModelDocument(documents[i])));
                else
                    for (var input = 0; input < _inputs.Count; input++)
                        if (InputText(documents[i], _inputs[input].Input) is { } text) requests.Add((i, input, new JsonObject { ["text_field"] = text }));
            }
            catch (Exception e)
            {
                outcomes[i] = StepOutcome.Failed(e);
            }
        }
        if (requests.Count == 0) return outcomes;

        var results = await InferAllAsync(requests.Select(r => r.Body).ToList(), context);
        var first = new HashSet<int>();
        for (var r = 0; r < requests.Count; r++)
        {
            var (doc, input, _) = requests[r];
            if (outcomes[doc].Result == StepResult.Failed) continue;
            try
            {
                var (result, modelId) = results[r].Error is { } error ? throw error : (results[r].Result!, results[r].ModelId!);
                if (_inputs is null) WriteToTarget(documents[doc], result, modelId);
                else WriteToOutput(documents[doc], _inputs[input], result, modelId, includeModelId: first.Add(doc));
            }
            catch (Exception e)
            {
                outcomes[doc] = StepOutcome.Failed(e);
            }
        }
        return outcomes;
    }

    private async Task<(JsonObject? Result, string? ModelId, Exception? Error)[]> InferAllAsync(List<JsonObject> bodies, RunContext context)
    {
        var answers = new (JsonObject?, string?, Exception?)[bodies.Count];
        try
        {
            var batch = await context.Inference.InferAsync(_modelId, bodies, _inferenceConfig, _inputs is not null, context.CancellationToken);
            for (var i = 0; i < bodies.Count; i++) answers[i] = (batch.Results[i], batch.ModelId, null);
            return answers;
        }
        catch (ElasticsearchException e) when (bodies.Count == 1 || e.Status is 404 or 409)
        {
            // The model itself is missing or not deployed: every document fails the same way.
            for (var i = 0; i < bodies.Count; i++) answers[i] = (null, null, e);
            return answers;
        }
        catch (ElasticsearchException)
        {
            // A document the model refused: find which, one document at a time.
            for (var i = 0; i < bodies.Count; i++)
            {
                try
                {
                    var single = await context.Inference.InferAsync(_modelId, [bodies[i]], _inferenceConfig, _inputs is not null, context.CancellationToken);
                    answers[i] = (single.Results[0], single.ModelId, null);
                }
                catch (ElasticsearchException e)
                {
                    answers[i] = (null, null, e);
                }
            }
            return answers;
        }
    }

    // buildRequest: the source and metadata, the ingest metadata as _ingest, then field_map copies (LocalModel.mapFieldsIfNecessary).
    private JsonObject ModelDocument(IngestDocument document)
    {
        var fields = (JsonObject)document.SourceAndMetadata.DeepClone();
        if (document.IngestMetadata.Count > 0) fields["_ingest"] = document.IngestMetadata.DeepClone();
        foreach (var (from, to) in _fieldMap)
            if (Dig(fields, from) is { } value) fields[to] = value.DeepClone();
        return fields;
    }

    // MapHelper.dig: the key as written, else its dotted path.
    private static JsonNode? Dig(JsonObject fields, string path)
    {
        if (fields.TryGetPropertyValue(path, out var direct)) return direct;
        JsonNode? context = fields;
        foreach (var part in path.Split('.'))
            context = context is JsonObject map && map.TryGetPropertyValue(part, out var next) ? next : null;
        return context;
    }

    private string? InputText(IngestDocument document, string field)
    {
        var value = document.GetFieldValue(field, _ignoreMissing);
        if (value is null && _ignoreMissing) return null;
        return IngestValues.AsString(value) ?? throw IngestFailure.IllegalArgument(
            $"field [{field}] of type [{IngestValues.JavaType(value)}] cannot be cast to [java.lang.String]");
    }

    // InferenceResults.writeResult: the result map with model_id, set at the target or appended to what is there.
    private void WriteToTarget(IngestDocument document, JsonObject result, string modelId)
    {
        var map = (JsonObject)result.DeepClone();
        map["model_id"] = modelId;
        SetOrAppend(document, _targetField!, map);
    }

    // InferenceResults.writeResultToField: the predicted value under the output field's name, the other result fields beside it.
    private static void WriteToOutput(IngestDocument document, (string Input, string? BasePath, string Output) io, JsonObject result, string modelId,
        bool includeModelId)
    {
        foreach (var (key, value) in result)
        {
            var name = key == "predicted_value" ? io.Output : key;
            SetOrAppend(document, io.BasePath is null ? name : io.BasePath + "." + name, value?.DeepClone());
        }
        if (includeModelId) SetOrAppend(document, io.BasePath is null ? "model_id" : io.BasePath + ".model_id", JsonValue.Create(modelId));
    }

    private static void SetOrAppend(IngestDocument document, string path, JsonNode? value)
    {
        if (document.HasField(path)) document.AppendFieldValue(path, value);
        else document.SetFieldValue(path, value);
    }

}
