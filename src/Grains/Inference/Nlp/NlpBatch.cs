using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Models.Parsing;
using TrainedModelsOrleans.Inference.OnnxRuntime;
using TrainedModelsOrleans.Inference.Serving;
using TrainedModelsOrleans.Inference.Text;

namespace TrainedModelsOrleans.Grains.Inference.Nlp;

/// <summary>
/// A tokenized batch of documents on its way through a model: build the session's inputs, run,
/// then turn the outputs into one ES result per document, in input order. A document may take
/// several rows (windows of a long text, text_classification with a span).
/// </summary>
public sealed class NlpBatch
{
    private readonly IReadOnlyList<string> inputs;
    private readonly INlpResultProcessor processor;
    private readonly NlpTokens rows;
    private int? paddedLength;

    internal NlpBatch(IReadOnlyList<string> inputs, NlpTokens rows, INlpResultProcessor processor)
    {
        this.inputs = inputs;
        this.rows = rows;
        this.processor = processor;
    }

    public TokenizedBatch Tokens => rows.Batch;

    public int DocumentCount => inputs.Count;

    /// <summary>The session's input tensors for this batch, by name, in the session's order, int64 or int32 as declared.</summary>
    public Tensor[] BuildTensors(NlpModelInputs model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var (built, padded) = model.Build(Tokens);
        paddedLength = padded.SequenceLength;
        return built;
    }

    /// <inheritdoc cref="BuildTensors(NlpModelInputs)"/>
    public OnnxInput[] BuildInputs(NlpModelInputs model) => Array.ConvertAll(BuildTensors(model), t => t.ToInput());

    /// <inheritdoc cref="BuildTensors(NlpModelInputs)"/>
    public OnnxInput[] BuildInputs(IReadOnlyList<OnnxTensorDescription> sessionInputs) => BuildInputs(NlpModelInputs.Describe(sessionInputs));

    /// <inheritdoc cref="ToResults(IReadOnlyList{Tensor})"/>
    public JsonObject[] ToResults(IReadOnlyList<OnnxOutput> outputs)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        return ToResults(outputs.Select(Tensor.FromOutput).ToArray());
    }

    /// <summary>
    /// One result per document from the model's first output, whose first dimension is the batch's rows.
    /// Output that does not fit the task → 409/500 status_exception.
    /// </summary>
    public JsonObject[] ToResults(IReadOnlyList<Tensor> outputs)
    {
        ArgumentNullException.ThrowIfNull(outputs);
        if (outputs.Count == 0) throw EsErrors.Status(500, "The model returned no output");
        var output = outputs[0];
        if (output.Shape.Length == 0 || output.Shape[0] != Tokens.BatchSize)
        {
            throw EsErrors.Status(500,
                $"Model output [{output.Name}] has shape {EsErrors.JavaList(output.Shape)}; expected [{Tokens.BatchSize}] rows first");
        }

        var rowsByDocument = new List<int>[inputs.Count];
        for (var r = 0; r < Tokens.BatchSize; r++) (rowsByDocument[rows.DocumentOf(r)] ??= []).Add(r);

        var padded = paddedLength ?? Tokens.SequenceLength;
        var results = new JsonObject[inputs.Count];
        for (var d = 0; d < inputs.Count; d++)
            results[d] = processor.Process(new NlpDocument(inputs[d], outputs, rowsByDocument[d].ToArray(), rows, padded));
        return results;
    }
}
