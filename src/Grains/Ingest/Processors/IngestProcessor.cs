namespace TrainedModelsOrleans.Grains.Ingest.Processors;

/// <summary>What a step did to one document: carried on, dropped it (the drop processor) or failed.</summary>
public readonly record struct StepOutcome(StepResult Result, Exception? Error)
{
    public static readonly StepOutcome Continue = new(StepResult.Continue, null);
    public static readonly StepOutcome Dropped = new(StepResult.Dropped, null);

    public static StepOutcome Failed(Exception error) => new(StepResult.Failed, error);
}

public enum StepResult { Continue, Dropped, Failed }

/// <summary>What a run needs beyond the documents: the way to the models, and the request's cancellation.</summary>
public sealed record RunContext(IPipelineInference Inference, CancellationToken CancellationToken);

/// <summary>
/// One processor as ES's Processor interface has it: type, tag, description, and what it does to a document.
/// Processors run over a batch of documents so that the inference processor can make one call for all of
/// them; the others run each document on its own.
/// </summary>
public abstract class IngestProcessor(string type, string? tag, string? description)
{
    public string Type { get; } = type;
    public string? Tag { get; } = tag;
    public string? Description { get; } = description;

    public virtual Task<StepOutcome[]> ExecuteAsync(IReadOnlyList<IngestDocument> documents, RunContext context)
    {
        var outcomes = new StepOutcome[documents.Count];
        for (var i = 0; i < documents.Count; i++)
        {
            try
            {
                outcomes[i] = Execute(documents[i]) ? StepOutcome.Continue : StepOutcome.Dropped;
            }
            catch (Exception e)
            {
                outcomes[i] = StepOutcome.Failed(e);
            }
        }
        return Task.FromResult(outcomes);
    }

    /// <summary>Runs on one document; false drops it.</summary>
    protected virtual bool Execute(IngestDocument document) => throw new NotSupportedException($"processor [{Type}] runs in batches");
}
