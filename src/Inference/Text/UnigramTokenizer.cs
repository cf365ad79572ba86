using System.Text;
using Microsoft.ML.Tokenizers;

namespace TrainedModelsOrleans.Inference.Text;

/// <summary>
/// Elasticsearch's SentencePiece unigram tokenizers (x-pack ml XLMRobertaTokenizer and DebertaV2Tokenizer over
/// UnigramTokenizer): the uploaded vocabulary and scores, a "▁" before every word, and the best-scoring split of
/// each word (Viterbi). The split is Microsoft.ML.Tokenizers' <see cref="SentencePieceTokenizer"/> built from the
/// vocabulary and scores (its unigram model, no model proto needed); around it, what ES does differently:
/// <list type="bullet">
/// <item>ES cuts the text at Java whitespace first and encodes each word on its own, "▁" first; the library encodes
/// the whole text with spaces escaped to "▁". The same pieces unless a vocabulary entry spans a "▁" inside it.</item>
/// <item>Never-split tokens (<c>&lt;mask&gt;</c>; for deberta_v2 also [CLS], [SEP], [PAD], [UNK], [MASK]) are cut
/// out of a word and looked up whole; the rest of the word after one starts again with "▁".</item>
/// <item>Unknown characters next to each other become one unknown token (ES's fuseUnk, on when byte fallback is off);
/// the library gives one per character. With byte fallback (deberta_v2) each byte is its own &lt;0xXX&gt; piece, as in the library.</item>
/// <item>Every piece is a word of its own (ES's position increment is 1 per piece), so windows may end between pieces.</item>
/// <item>Offsets: a piece's start and end in the original text, the "▁" counting for nothing (ES's offset correction).</item>
/// <item>Normalization: ES runs XLM-RoBERTa's precompiled character map (nmt_nfkc) from a resource we do not ship;
/// we apply Unicode NFKC to each word, which is what that map does for text (it also folds some control and
/// space characters, which the whitespace split drops anyway). A word NFKC changes maps every piece to the whole word's offsets.</item>
/// <item>Scores are kept as doubles in ES and floats in the library; ties that differ below float precision may split differently.</item>
/// </list>
/// </summary>
public sealed class UnigramTokenizer : NlpTokenizer
{
    private const char WordStart = '\u2581';

    private readonly SentencePieceTokenizer model;
    private readonly bool byteFallback;
    private readonly bool isDebertaV2;
    private readonly NeverSplitTokens neverSplit;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> neverSplitIds;

    [ThreadStatic]
    private static List<(int Start, int Length, bool NeverSplit)>? segments;

    private UnigramTokenizer(IReadOnlyList<string> vocabulary, IReadOnlyList<double> scores, bool isDebertaV2, BertTokenizerOptions options)
        : base(vocabulary, options)
    {
        this.isDebertaV2 = isDebertaV2;
        byteFallback = isDebertaV2;
        ArgumentNullException.ThrowIfNull(scores);
        if (scores.Count != vocabulary.Count)
            throw new ArgumentException($"provided vocabulary [{vocabulary.Count}] and scores [{scores.Count}] must have the same size");
        // ES's map keeps the last of duplicate entries; the library refuses duplicates, so earlier ones become entries
        // no text can match (normalized input has its spaces escaped to "▁").
        var last = new Dictionary<string, int>(vocabulary.Count, StringComparer.Ordinal);
        for (var i = 0; i < vocabulary.Count; i++) last[vocabulary[i]] = i;
        model = SentencePieceTokenizer.Create(
            vocabulary.Select((token, i) => (last[token] == i ? token : $"\u0001 {i}", (float)scores[i])),
            UnknownTokenId,
            addBeginningOfSentence: false,
            addEndOfSentence: false,
            precompiledCharsMap: ReadOnlySpan<byte>.Empty,
            addDummyPrefix: true,
            escapeWhiteSpaces: true,
            treatWhitespaceAsSuffix: false,
            byteFallback: byteFallback,
            specialTokens: null);
        var special = options.SpecialTokens;
        IEnumerable<string> always = byteFallback
            ? [special.Unknown, special.Separator, special.Pad, special.Class, special.Mask]
            : [special.Mask];
        string[] tokens = [.. options.NeverSplit.Concat(always).Distinct(StringComparer.Ordinal)];
        neverSplit = new NeverSplitTokens(tokens);
        neverSplitIds = tokens.ToDictionary(t => t, t => ExactId(t) is var id and >= 0 ? id : UnknownTokenId, StringComparer.Ordinal)
            .GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>ES's XLMRobertaTokenizer: &lt;s&gt; a &lt;/s&gt;&lt;/s&gt; b &lt;/s&gt;, unknown characters fused, only &lt;mask&gt; never split.</summary>
    public static UnigramTokenizer XlmRoberta(IReadOnlyList<string> vocabulary, IReadOnlyList<double> scores, BertTokenizerOptions options) =>
        new(vocabulary, scores, isDebertaV2: false, options);

    /// <summary>ES's DebertaV2Tokenizer: [CLS] a [SEP] b [SEP], byte fallback for unknown characters, every special token never split.</summary>
    public static UnigramTokenizer DebertaV2(IReadOnlyList<string> vocabulary, IReadOnlyList<double> scores, BertTokenizerOptions options) =>
        new(vocabulary, scores, isDebertaV2: true, options);

    private protected override bool PairNeedsBothSequences => isDebertaV2;

    /// <summary>XLMRobertaTokenizationResult.decode drops the word-start mark; DeBERTa-v2 keeps the entry as it is.</summary>
    public override string Decode(string token) =>
        !isDebertaV2 && token.Length > 0 && token[0] == WordStart ? token[1..] : token;

    private protected override void InnerTokenize(string text, PieceBuffer output)
    {
        var word = -1;
        var at = 0;
        while (at < text.Length)
        {
            if (CharClasses.IsJavaWhitespace(text[at]))
            {
                at++;
                continue;
            }
            var start = at;
            while (at < text.Length && !CharClasses.IsJavaWhitespace(text[at])) at++;
            EncodeWord(text, start, at, ref word, output);
        }
    }

    // UnigramTokenizer.incrementToken: a whole never-split word, else the word cut around never-split tokens, each
    // other part "▁"-prefixed.
    private void EncodeWord(string text, int start, int end, ref int word, PieceBuffer output)
    {
        var token = text.AsSpan(start, end - start);
        if (neverSplit.Contains(token))
        {
            output.Add(neverSplitIds[token], ++word, start, end);
            return;
        }
        var parts = segments ??= [];
        neverSplit.Split(token, parts);
        foreach (var (from, length, isNeverSplit) in parts)
        {
            if (isNeverSplit) output.Add(neverSplitIds[token.Slice(from, length)], ++word, start + from, start + from + length);
            else EncodePieces(text, start + from, start + from + length, ref word, output);
        }
    }

    private void EncodePieces(string text, int start, int end, ref int word, PieceBuffer output)
    {
        var original = text.AsSpan(start, end - start);
        var normalized = original.IsNormalized(NormalizationForm.FormKC) ? original : original.ToString().Normalize(NormalizationForm.FormKC).AsSpan();
        var exact = normalized.Length == original.Length && normalized.SequenceEqual(original);
        var lastWasUnknown = false;
        foreach (var piece in model.EncodeToTokens(normalized, out _, addBeginningOfSentence: false, addEndOfSentence: false,
                     considerPreTokenization: false, considerNormalization: true))
        {
            // Offsets of the "▁"-prefixed word: position 0 is the "▁", so the word's own chars start at 1.
            var (offset, length) = piece.Offset.GetOffsetAndLength(normalized.Length + 1);
            var pieceStart = exact ? start + Math.Max(offset - 1, 0) : start;
            var pieceEnd = exact ? start + Math.Max(offset + length - 1, 0) : end;
            var unknown = piece.Id == UnknownTokenId;
            if (unknown && lastWasUnknown && !byteFallback)
            {
                // ES's fuseUnk: a run of unknown characters is one unknown token.
                output.Ends[output.Count - 1] = pieceEnd;
                continue;
            }
            output.Add(piece.Id, ++word, pieceStart, pieceEnd);
            lastWasUnknown = unknown;
        }
    }
}
