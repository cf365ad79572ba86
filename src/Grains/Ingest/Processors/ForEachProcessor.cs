using System.Text.Json.Nodes;

namespace TrainedModelsOrleans.Grains.Ingest.Processors;

/// <summary>
/// ES's ForEachProcessor: runs one processor over each element of the list (or each entry of the object) at
/// <c>field</c>, the element in <c>_ingest._value</c> (and the key in <c>_ingest._key</c>), then writes back what
/// the processor left there; <c>ignore_missing</c>. The documents' n-th elements run together, so an inference
/// processor inside makes one call per element position rather than one per element.
/// </summary>
public sealed class ForEachProcessor(string? tag, string? description, string field, PipelineStep processor, bool ignoreMissing)
    : IngestProcessor("foreach", tag, description)
{
    public PipelineStep Inner { get; } = processor;

    public override async Task<StepOutcome[]> ExecuteAsync(IReadOnlyList<IngestDocument> documents, RunContext context)
    {
        var outcomes = new StepOutcome[documents.Count];
        var loops = new Loop?[documents.Count];
        for (var i = 0; i < documents.Count; i++)
        {
            try
            {
                var value = documents[i].GetFieldValue(field, ignoreMissing);
                loops[i] = value switch
                {
                    null when ignoreMissing => null,
                    null => throw IngestFailure.IllegalArgument($"field [{field}] is null, cannot loop over its elements."),
                    JsonArray list => new Loop(list.Select(e => e?.DeepClone()).ToList(), null),
                    JsonObject map => new Loop(map.Select(e => e.Value?.DeepClone()).ToList(), map.Select(e => e.Key).ToList()),
                    _ => throw IngestFailure.IllegalArgument(
                        $"field [{field}] of type [{IngestValues.JavaType(value)}] cannot be cast to a list or a map"),
                };
            }
            catch (Exception e)
            {
                outcomes[i] = StepOutcome.Failed(e);
            }
        }

        for (var position = 0; ; position++)
        {
            var batch = Enumerable.Range(0, documents.Count)
                .Where(i => loops[i] is { } loop && position < loop.Values.Count && outcomes[i].Result == StepResult.Continue)
                .ToList();
            if (batch.Count == 0) break;
            var previous = new (JsonNode? Value, JsonNode? Key)[batch.Count];
            for (var b = 0; b < batch.Count; b++)
            {
                var (metadata, loop) = (documents[batch[b]].IngestMetadata, loops[batch[b]]!);
                previous[b] = (metadata["_value"]?.DeepClone(), metadata["_key"]?.DeepClone());
                metadata["_value"] = loop.Values[position]; // already this loop's own copy, used once
                if (loop.Keys is not null) metadata["_key"] = loop.Keys[position];
            }
            var results = await Inner.RunAsync(batch.Select(i => new DocumentRun(documents[i], null)).ToList(), false, context);
            for (var b = 0; b < batch.Count; b++)
            {
                var (metadata, loop) = (documents[batch[b]].IngestMetadata, loops[batch[b]]!);
                loop.NewValues.Add(metadata["_value"]?.DeepClone());
                loop.NewKeys.Add(IngestValues.AsString(metadata["_key"]) ?? loop.Keys?[position] ?? "");
                Restore(metadata, "_value", previous[b].Value);
                if (loop.Keys is not null) Restore(metadata, "_key", previous[b].Key);
                if (results[b].Result != StepResult.Continue) outcomes[batch[b]] = results[b];
            }
        }

        for (var i = 0; i < documents.Count; i++)
        {
            if (loops[i] is not { } loop || outcomes[i].Result != StepResult.Continue) continue;
            JsonNode updated;
            if (loop.Keys is null) updated = new JsonArray(loop.NewValues.ToArray());
            else
            {
                var map = new JsonObject();
                for (var k = 0; k < loop.NewValues.Count; k++) map[loop.NewKeys[k]] = loop.NewValues[k];
                updated = map;
            }
            try
            {
                documents[i].SetFieldValue(field, updated);
            }
            catch (Exception e)
            {
                outcomes[i] = StepOutcome.Failed(e);
            }
        }
        return outcomes;
    }

    private static void Restore(JsonObject metadata, string name, JsonNode? previous)
    {
        if (previous is null) metadata.Remove(name);
        else metadata[name] = previous;
    }

    private sealed record Loop(List<JsonNode?> Values, List<string>? Keys)
    {
        public List<JsonNode?> NewValues { get; } = [];
        public List<string> NewKeys { get; } = [];
    }
}
