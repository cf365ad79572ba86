namespace TrainedModelsOrleans.Inference.Text;

/// <summary>
/// One row of a <see cref="TokenizedBatch"/>: the tokens of one input (or of one window of a long
/// input), special tokens included, unpadded. Per token: the vocabulary id, the word position
/// (ES's token map: the index of the word in the input, -1 for special tokens) and the word's
/// character offsets in the original text (-1 for special tokens; every piece of a word carries
/// the whole word's offsets, as in ES).
/// </summary>
public sealed class TokenizedSequence
{
    private readonly IReadOnlyList<string> vocabulary;
    private readonly int[] tokenIds;
    private readonly int[] wordPositions;
    private readonly int[] startOffsets;
    private readonly int[] endOffsets;

    internal TokenizedSequence(
        IReadOnlyList<string> vocabulary, int sequenceId, string input, int[] tokenIds, int[] wordPositions,
        int[] startOffsets, int[] endOffsets, bool truncated, int spanPrev)
    {
        this.vocabulary = vocabulary;
        SequenceId = sequenceId;
        Input = input;
        this.tokenIds = tokenIds;
        this.wordPositions = wordPositions;
        this.startOffsets = startOffsets;
        this.endOffsets = endOffsets;
        Truncated = truncated;
        SpanPrev = spanPrev;
    }

    /// <summary>The index of the input (text or pair) this row came from; windows of one input share it.</summary>
    public int SequenceId { get; }

    /// <summary>The text tokenized (the first text of a pair; offsets of the second text's tokens refer to that text).</summary>
    public string Input { get; }

    public int Length => tokenIds.Length;

    public ReadOnlySpan<int> TokenIds => tokenIds;

    public ReadOnlySpan<int> WordPositions => wordPositions;

    public ReadOnlySpan<int> StartOffsets => startOffsets;

    public ReadOnlySpan<int> EndOffsets => endOffsets;

    /// <summary>The input was cut to fit the maximum sequence length.</summary>
    public bool Truncated { get; }

    /// <summary>For windows after the first, how many tokens repeat from the previous window; -1 otherwise.</summary>
    public int SpanPrev { get; }

    /// <summary>The token's string: its vocabulary entry (ES keeps the matched text, which differs only in case when lower-casing).</summary>
    public string TokenAt(int index) => vocabulary[tokenIds[index]];

    public IReadOnlyList<string> Tokens => tokenIds.Select(id => vocabulary[id]).ToArray();

    /// <summary>The position of the first token with this id, or -1.</summary>
    public int IndexOfToken(int tokenId) => Array.IndexOf(tokenIds, tokenId);
}

/// <summary>
/// Tokenized inputs ready for a model: row-major [batch, sequence] tensors padded to the longest
/// row with [PAD], as ES's TokenizationResult writes them: input ids, attention mask (1 for tokens,
/// 0 for padding), token type ids (all 0, as ES sends them even for pairs) and position ids (0..n-1).
/// </summary>
public sealed class TokenizedBatch
{
    private readonly TokenizedSequence[] sequences;
    private long[]? inputIds, attentionMask, tokenTypeIds, positionIds;

    internal TokenizedBatch(TokenizedSequence[] sequences, int padTokenId, int sequenceLength)
    {
        this.sequences = sequences;
        PadTokenId = padTokenId;
        SequenceLength = sequenceLength;
    }

    public IReadOnlyList<TokenizedSequence> Sequences => sequences;

    public int BatchSize => sequences.Length;

    /// <summary>The padded length: the longest row, or more when asked with <see cref="PadTo"/>.</summary>
    public int SequenceLength { get; }

    /// <summary>The length of the longest row.</summary>
    public int LongestSequence => sequences.Length == 0 ? 0 : sequences.Max(s => s.Length);

    public int PadTokenId { get; }

    public bool AnyTruncated => sequences.Any(s => s.Truncated);

    /// <summary>[batch, sequence].</summary>
    public long[] Shape => [BatchSize, SequenceLength];

    public long[] InputIds => inputIds ??= Fill((s, row) =>
    {
        row.Fill(PadTokenId);
        for (var i = 0; i < s.Length; i++) row[i] = s.TokenIds[i];
    });

    public long[] AttentionMask => attentionMask ??= Fill((s, row) => row[..s.Length].Fill(1));

    public long[] TokenTypeIds => tokenTypeIds ??= new long[BatchSize * SequenceLength];

    public long[] PositionIds => positionIds ??= Fill((_, row) =>
    {
        for (var i = 0; i < row.Length; i++) row[i] = i;
    });

    /// <summary>The same rows padded to <paramref name="sequenceLength"/> (a model with a fixed sequence dimension).</summary>
    public TokenizedBatch PadTo(int sequenceLength)
    {
        if (sequenceLength < LongestSequence)
            throw new ArgumentOutOfRangeException(nameof(sequenceLength), $"The longest row has {LongestSequence} tokens.");
        return sequenceLength == SequenceLength ? this : new TokenizedBatch(sequences, PadTokenId, sequenceLength);
    }

    private delegate void RowWriter(TokenizedSequence sequence, Span<long> row);

    private long[] Fill(RowWriter write)
    {
        var data = new long[BatchSize * SequenceLength];
        for (var r = 0; r < sequences.Length; r++) write(sequences[r], data.AsSpan(r * SequenceLength, SequenceLength));
        return data;
    }
}

/// <summary>The word pieces of one text before special tokens, truncation or windowing are applied (ES's inner tokenization).</summary>
public sealed class WordPieces
{
    internal WordPieces(IReadOnlyList<string> vocabulary, int[] ids, int[] words, int[] starts, int[] ends)
    {
        Vocabulary = vocabulary;
        Ids = ids;
        WordPositions = words;
        StartOffsets = starts;
        EndOffsets = ends;
    }

    internal IReadOnlyList<string> Vocabulary { get; }

    public int Count => Ids.Length;

    public int[] Ids { get; }

    public int[] WordPositions { get; }

    public int[] StartOffsets { get; }

    public int[] EndOffsets { get; }

    public IReadOnlyList<string> Tokens => Ids.Select(id => Vocabulary[id]).ToArray();
}
