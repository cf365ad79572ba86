using System.Text.Json.Nodes;
using TrainedModelsOrleans.Inference.OnnxRuntime;
using TrainedModelsOrleans.Inference.Serving;
using TrainedModelsOrleans.Inference.Text;

namespace TrainedModelsOrleans.Grains.Inference.Nlp;

/// <summary>
/// One document of a batch as the result processors see it: its text, its token rows (windows, or
/// one pair per label) and its share of the model's first output; other outputs on demand.
/// </summary>
internal sealed class NlpDocument
{
    private readonly IReadOnlyList<Tensor> outputs;
    private readonly int[] batchRows;
    private readonly int documentLength;
    private readonly int paddedLength;
    private readonly NlpTokens tokens;

    public NlpDocument(string input, IReadOnlyList<Tensor> outputs, int[] batchRows, NlpTokens tokens, int paddedLength)
    {
        Input = input;
        this.outputs = outputs;
        this.batchRows = batchRows;
        this.tokens = tokens;
        this.paddedLength = paddedLength;
        Rows = batchRows.Select(r => tokens.Batch.Sequences[r]).ToArray();
        documentLength = Rows.Max(r => r.Length);
        Inference = Output(0);
    }

    /// <summary>The document's text (for pair tasks, the text of the doc, not the question or the hypothesis).</summary>
    public string Input { get; }

    public IReadOnlyList<TokenizedSequence> Rows { get; }

    /// <summary>The document's share of the model's first output.</summary>
    public DocumentInference Inference { get; }

    public int OutputCount => outputs.Count;

    /// <summary>The document's share of another output of the model (whose first dimension is the batch's rows too).</summary>
    public DocumentInference Output(int index) => DocumentInference.Of(outputs[index], batchRows, documentLength, paddedLength);

    /// <summary>The dimensions of an output, over the whole batch.</summary>
    public IReadOnlyList<long> ShapeOf(int index) => outputs[index].Shape;

    /// <inheritdoc cref="NlpTokens.PairOffset"/>
    public int PairOffset(int row) => tokens.PairOffset(batchRows[row]);

    /// <inheritdoc cref="NlpTokens.CharacterOffset"/>
    public int CharacterOffset(int row) => tokens.CharacterOffset(batchRows[row]);

    public bool IsTruncated => Rows.Any(r => r.Truncated);

    /// <summary>ES's NlpInferenceResults: <c>is_truncated</c> appears only when true, after the task's fields.</summary>
    public JsonObject Finish(JsonObject result)
    {
        if (IsTruncated) result["is_truncated"] = true;
        return result;
    }
}
