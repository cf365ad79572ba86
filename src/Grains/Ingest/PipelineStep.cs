using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Ingest.Processors;

namespace TrainedModelsOrleans.Grains.Ingest;

/// <summary>A document on its way through a pipeline, with the processor results verbose mode collects.</summary>
public sealed class DocumentRun(IngestDocument document, List<JsonObject>? trace)
{
    public IngestDocument Document { get; } = document;

    /// <summary>The processor results (verbose), null otherwise.</summary>
    public List<JsonObject>? Trace { get; } = trace;
}

/// <summary>
/// A node of a compiled pipeline, run over a batch of documents: one processor with its condition
/// (<see cref="ProcessorStep"/>), or processors with their failure handling (<see cref="CompoundStep"/>, ES's
/// CompoundProcessor). Verbose results are recorded where ES's TrackingResultProcessor records them.
/// </summary>
public abstract class PipelineStep
{
    /// <param name="documents">The documents this step runs on.</param>
    /// <param name="ignoreFailure">The enclosing compound's ignore_failure (a failed processor's verbose result keeps the document then).</param>
    public abstract Task<StepOutcome[]> RunAsync(IReadOnlyList<DocumentRun> documents, bool ignoreFailure, RunContext context);
}

/// <summary>A processor behind its optional <c>if</c> (ES's ConditionalProcessor).</summary>
public sealed class ProcessorStep(IngestProcessor processor, PainlessSubset.Expression? condition, string? conditionSource) : PipelineStep
{
    public IngestProcessor Processor { get; } = processor;

    public bool HasCondition => condition is not null;

    public override async Task<StepOutcome[]> RunAsync(IReadOnlyList<DocumentRun> documents, bool ignoreFailure, RunContext context)
    {
        var outcomes = new StepOutcome[documents.Count];
        var running = new List<int>();
        for (var i = 0; i < documents.Count; i++)
        {
            if (condition is not null)
            {
                bool passed;
                try
                {
                    passed = condition.EvaluateBoolean(documents[i].Document.SourceAndMetadata);
                }
                catch (Exception e)
                {
                    outcomes[i] = StepOutcome.Failed(e);
                    continue;
                }
                if (!passed)
                {
                    documents[i].Trace?.Add(SimulateJson.ProcessorResult(Processor.Type, Processor.Tag, Processor.Description,
                        (conditionSource!, false), null, null));
                    outcomes[i] = StepOutcome.Continue;
                    continue;
                }
            }
            running.Add(i);
        }
        if (running.Count == 0) return outcomes;

        var results = await Processor.ExecuteAsync(running.Select(i => documents[i].Document).ToList(), context);
        for (var r = 0; r < running.Count; r++)
        {
            var run = documents[running[r]];
            var outcome = results[r];
            outcomes[running[r]] = outcome;
            if (run.Trace is null) continue;
            (string, bool)? passedCondition = condition is null ? null : (conditionSource!, true);
            var snapshot = outcome.Result == StepResult.Continue || (outcome.Result == StepResult.Failed && ignoreFailure)
                ? run.Document
                : null;
            run.Trace.Add(SimulateJson.ProcessorResult(Processor.Type, Processor.Tag, Processor.Description, passedCondition, snapshot, outcome.Error));
        }
        return outcomes;
    }
}

/// <summary>
/// ES's CompoundProcessor: processors in order; a failure is skipped with <c>ignore_failure</c>, else handed to the
/// <c>on_failure</c> processors with <c>_ingest.on_failure_message</c>, <c>_processor_type</c> and
/// <c>_processor_tag</c> set while they run (the document then carries on), else it fails the document.
/// </summary>
public sealed class CompoundStep(bool ignoreFailure, IReadOnlyList<PipelineStep> steps, IReadOnlyList<PipelineStep> onFailure) : PipelineStep
{
    public const string OnFailureMessage = "on_failure_message";
    public const string OnFailureProcessorType = "on_failure_processor_type";
    public const string OnFailureProcessorTag = "on_failure_processor_tag";

    public override async Task<StepOutcome[]> RunAsync(IReadOnlyList<DocumentRun> documents, bool parentIgnoreFailure, RunContext context)
    {
        var outcomes = new StepOutcome[documents.Count];
        var failed = new List<(int Index, ProcessorFailure Failure)>();
        await RunInOrderAsync(steps, documents, Enumerable.Range(0, documents.Count).ToList(), outcomes, context, (index, step, error) =>
        {
            if (ignoreFailure) return true;
            var failure = Wrap(error, step, documents[index]);
            if (onFailure.Count == 0) outcomes[index] = StepOutcome.Failed(failure);
            else failed.Add((index, failure));
            return false;
        });
        if (failed.Count > 0) await RunOnFailureAsync(documents, failed, outcomes, context);
        return outcomes;
    }

    private async Task RunOnFailureAsync(IReadOnlyList<DocumentRun> documents, List<(int Index, ProcessorFailure Failure)> failed,
        StepOutcome[] outcomes, RunContext context)
    {
        foreach (var (index, failure) in failed)
        {
            var metadata = documents[index].Document.IngestMetadata;
            metadata[OnFailureMessage] = IngestFailure.RootReason(failure.Cause);
            metadata[OnFailureProcessorType] = failure.ProcessorType;
            metadata[OnFailureProcessorTag] = failure.ProcessorTag;
        }
        var carriedOn = await RunInOrderAsync(onFailure, documents, failed.Select(f => f.Index).ToList(), outcomes, context, (index, step, error) =>
        {
            RemoveFailureMetadata(documents[index].Document);
            outcomes[index] = StepOutcome.Failed(Wrap(error, step, documents[index]));
            return false;
        });
        foreach (var index in carriedOn)
        {
            RemoveFailureMetadata(documents[index].Document);
            outcomes[index] = StepOutcome.Continue;
        }
    }

    /// <summary>
    /// Runs the steps in order over the active documents; a dropped document stops there, and a failed one goes on only
    /// when <paramref name="onError"/> says so. Returns the documents that went through every step.
    /// </summary>
    private async Task<List<int>> RunInOrderAsync(IReadOnlyList<PipelineStep> stepList, IReadOnlyList<DocumentRun> documents, List<int> active,
        StepOutcome[] outcomes, RunContext context, Func<int, PipelineStep, Exception, bool> onError)
    {
        foreach (var step in stepList)
        {
            if (active.Count == 0) break;
            var results = await step.RunAsync(active.Select(i => documents[i]).ToList(), ignoreFailure, context);
            var next = new List<int>();
            for (var r = 0; r < active.Count; r++)
            {
                var index = active[r];
                switch (results[r].Result)
                {
                    case StepResult.Continue:
                        next.Add(index);
                        break;
                    case StepResult.Dropped:
                        outcomes[index] = StepOutcome.Dropped;
                        break;
                    default:
                        if (onError(index, step, results[r].Error!)) next.Add(index);
                        break;
                }
            }
            active = next;
        }
        return active;
    }

    private static void RemoveFailureMetadata(IngestDocument document)
    {
        document.IngestMetadata.Remove(OnFailureMessage);
        document.IngestMetadata.Remove(OnFailureProcessorType);
        document.IngestMetadata.Remove(OnFailureProcessorTag);
    }

    // newCompoundProcessorException: a failure that already names its processor keeps it. Outside verbose mode the
    // processor ES's CompoundProcessor holds for one with an if is the ConditionalProcessor around it, so its failures
    // (the condition's too) are named "conditional"; verbose mode tracks the processor itself.
    private static ProcessorFailure Wrap(Exception error, PipelineStep step, DocumentRun run)
    {
        if (error is ProcessorFailure named) return named;
        var processor = (step as ProcessorStep)?.Processor;
        var type = processor is null ? "compound"
            : ((ProcessorStep)step).HasCondition && run.Trace is null ? "conditional"
            : processor.Type;
        return new ProcessorFailure(SimulateJson.Cause(error), type, processor?.Tag);
    }
}
