using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Models.Parsing;
using TrainedModelsOrleans.Inference.OnnxRuntime;
using TrainedModelsOrleans.Inference.Serving;
using TrainedModelsOrleans.Inference.Text;

namespace TrainedModelsOrleans.Grains.Inference.Nlp;

/// <summary>
/// How a session's declared inputs are fed from a <see cref="TokenizedBatch"/>. Inputs named
/// <c>input_ids</c>, <c>attention_mask</c>, <c>token_type_ids</c> and <c>position_ids</c> get those
/// tensors; an input with another name gets what ES sends in its position (ES's process takes
/// tokens, arg_1 = attention mask, arg_2 = token types, arg_3 = positions, in that order).
/// Element type int64 or int32, as declared. Describe once per session and reuse.
/// </summary>
public sealed class NlpModelInputs
{
    private static readonly string[] Names = ["input_ids", "attention_mask", "token_type_ids", "position_ids"];

    private readonly Input[] inputs;

    private NlpModelInputs(Input[] inputs, int? fixedBatchSize, int? fixedSequenceLength)
    {
        this.inputs = inputs;
        FixedBatchSize = fixedBatchSize;
        FixedSequenceLength = fixedSequenceLength;
    }

    /// <summary>The batch size the model's graph insists on, if any (split larger batches).</summary>
    public int? FixedBatchSize { get; }

    /// <summary>The sequence length the model's graph insists on, if any (rows are padded to it).</summary>
    public int? FixedSequenceLength { get; }

    /// <summary>
    /// True when the model sees the attention mask, so padding a short text to a longer one's length
    /// leaves its result (nearly) unchanged. Without it, batch only texts of equal token count, or one
    /// text at a time, to get what ES (one text per request) gets.
    /// </summary>
    public bool TakesAttentionMask => inputs.Any(i => i.Feed == Feed.AttentionMask);

    /// <summary>Maps the session's inputs; 409 when one cannot be fed with tokens.</summary>
    public static NlpModelInputs Describe(IReadOnlyList<OnnxTensorDescription> modelInputs)
    {
        ArgumentNullException.ThrowIfNull(modelInputs);
        var mapped = new Input[modelInputs.Count];
        int? batch = null, sequence = null;
        for (var i = 0; i < modelInputs.Count; i++)
        {
            var input = modelInputs[i];
            var named = Array.IndexOf(Names, input.Name);
            var position = named >= 0 ? named : i;
            if (position >= Names.Length)
            {
                throw Conflict(
                    $"model input [{input.Name}] cannot be fed: NLP models take at most {EsErrors.JavaList(Names)}, by name or in that order");
            }
            if (!input.IsTensor || input.ElementType is not (OnnxElementType.Int64 or OnnxElementType.Int32))
            {
                throw Conflict(
                    $"model input [{input.Name}] has type [{(input.IsTensor ? input.ElementTypeName : input.KindName)}]; NLP model inputs must be int64 or int32 tensors");
            }
            if (input.Shape.Length != 2)
                throw Conflict($"model input [{input.Name}] has {input.Shape.Length} dimensions; NLP model inputs are [batch, sequence]");
            if (input.Shape[0] > 0) batch = (int)input.Shape[0];
            if (input.Shape[1] > 0) sequence = Math.Max(sequence ?? 0, (int)input.Shape[1]);
            mapped[i] = new Input(input.Name, (Feed)position, input.ElementType);
        }
        return new NlpModelInputs(mapped, batch, sequence);
    }

    /// <summary>The input tensors for a batch, in the session's order, and the batch as padded for the run.</summary>
    internal (Tensor[] Inputs, TokenizedBatch Padded) Build(TokenizedBatch batch)
    {
        if (FixedBatchSize is { } size && size != batch.BatchSize)
            throw Conflict($"the model takes batches of exactly [{size}] rows; this batch has [{batch.BatchSize}]");
        var padded = batch;
        if (FixedSequenceLength is { } length)
        {
            if (batch.LongestSequence > length)
            {
                throw EsErrors.BadRequest(
                    $"Input too large. The tokenized input length [{batch.LongestSequence}] exceeds the model's sequence length [{length}]");
            }
            padded = batch.PadTo(length);
        }

        var shape = padded.Shape;
        var result = new Tensor[inputs.Length];
        for (var i = 0; i < inputs.Length; i++)
        {
            var input = inputs[i];
            var data = input.Feed switch
            {
                Feed.InputIds => padded.InputIds,
                Feed.AttentionMask => padded.AttentionMask,
                Feed.TokenTypeIds => padded.TokenTypeIds,
                _ => padded.PositionIds,
            };
            result[i] = input.ElementType == OnnxElementType.Int64
                ? new Tensor(input.Name, OnnxElementType.Int64, shape, data)
                : new Tensor(input.Name, OnnxElementType.Int32, shape, Array.ConvertAll(data, v => (int)v));
        }
        return (result, padded);
    }

    private static ElasticsearchException Conflict(string reason) => EsErrors.Status(409, reason);

    private enum Feed
    {
        InputIds,
        AttentionMask,
        TokenTypeIds,
        PositionIds,
    }

    private sealed record Input(string Name, Feed Feed, OnnxElementType ElementType);
}
