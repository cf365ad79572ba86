using TrainedModelsOrleans.Inference.Text;

namespace TrainedModelsOrleans.Grains.Inference.Nlp;

/// <summary>
/// The token rows of a request (ES's TokenizationResult): the padded batch, the document each row
/// belongs to (a document may take several rows: windows of a long text, zero-shot's one row per label),
/// and for rows of text pairs where the second text starts, in tokens and in characters of the document.
/// </summary>
internal sealed class NlpTokens
{
    private readonly int[] documents;
    private readonly int[] pairOffsets;
    private readonly int[] characterOffsets;

    private NlpTokens(TokenizedBatch batch, int[] documents, int[] pairOffsets, int[] characterOffsets)
    {
        Batch = batch;
        this.documents = documents;
        this.pairOffsets = pairOffsets;
        this.characterOffsets = characterOffsets;
    }

    public TokenizedBatch Batch { get; }

    /// <summary>One row per document, or per window of a document (the rows' sequence ids are the documents).</summary>
    public static NlpTokens Single(TokenizedBatch batch)
    {
        var documents = batch.Sequences.Select(s => s.SequenceId).ToArray();
        return new NlpTokens(batch, documents, new int[documents.Length], new int[documents.Length]);
    }

    /// <param name="batch">Rows of pairs.</param>
    /// <param name="documents">The document of each row.</param>
    /// <param name="characterOffsets">Where each row's second text starts in its document (a window of it), in characters.</param>
    /// <param name="separators">Separator tokens between the two texts of a pair.</param>
    public static NlpTokens Pairs(TokenizedBatch batch, int[] documents, int[] characterOffsets, int separators, int separatorId)
    {
        var pairOffsets = new int[documents.Length];
        for (var r = 0; r < documents.Length; r++)
        {
            // [CLS] first [SEP]{separators} second [SEP]: the text of a pair never holds the separator's id itself.
            var firstSeparator = batch.Sequences[r].TokenIds.IndexOf(separatorId);
            pairOffsets[r] = firstSeparator + separators;
        }
        return new NlpTokens(batch, documents, pairOffsets, characterOffsets);
    }

    public int DocumentOf(int row) => documents[row];

    /// <summary>The token position where the row's second text starts (ES's seqPairOffset).</summary>
    public int PairOffset(int row) => pairOffsets[row];

    /// <summary>Where the row's second text starts in the document, in characters (0 unless the row is a window of it).</summary>
    public int CharacterOffset(int row) => characterOffsets[row];
}
