using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Ingest.Processors;

namespace TrainedModelsOrleans.Grains.Ingest;

/// <summary>
/// ES's SimulateExecutionService: every document runs through the pipeline (all together, so that an inference
/// processor makes one call for the batch), each answered on its own — <c>{"doc":…}</c>, <c>null</c> when dropped,
/// <c>{"error":…}</c> when it failed, or with <c>verbose</c> <c>{"processor_results":[…]}</c>. While a document runs,
/// <c>_ingest.pipeline</c> names the pipeline (IngestDocument.executePipeline).
/// </summary>
public static class PipelineSimulation
{
    public static async Task<JsonObject> RunAsync(CompiledPipeline pipeline, IReadOnlyList<IngestDocument> documents, bool verbose,
        IPipelineInference inference, CancellationToken cancellationToken)
    {
        var runs = documents.Select(d => new DocumentRun(d, verbose ? new List<JsonObject>() : null)).ToList();
        foreach (var run in runs) run.Document.IngestMetadata["pipeline"] = pipeline.Id;
        var outcomes = await pipeline.Root.RunAsync(runs, false, new RunContext(inference, cancellationToken));
        foreach (var run in runs) run.Document.IngestMetadata.Remove("pipeline");

        var results = new JsonArray();
        for (var i = 0; i < runs.Count; i++)
        {
            if (verbose)
            {
                results.Add(new JsonObject { ["processor_results"] = new JsonArray(runs[i].Trace!.Select(r => (JsonNode?)r).ToArray()) });
                continue;
            }
            results.Add(outcomes[i].Result switch
            {
                StepResult.Continue => new JsonObject { ["doc"] = SimulateJson.Document(runs[i].Document) },
                StepResult.Dropped => null,
                _ => new JsonObject { ["error"] = SimulateJson.Error(outcomes[i].Error!) },
            });
        }
        return new JsonObject { ["docs"] = results };
    }
}
