using Microsoft.ML.Tokenizers;

namespace TrainedModelsOrleans.Inference.Text;

/// <summary>
/// Elasticsearch's RoBERTa tokenizer (x-pack ml RobertaTokenizer, BpeAnalyzer, BpeTokenizer): byte-level BPE over
/// the uploaded vocabulary and merges. The merging itself is Microsoft.ML.Tokenizers' <see cref="BpeTokenizer"/>
/// (byte-level); around it, what ES does differently from the library's RoBERTa pipeline:
/// <list type="bullet">
/// <item>Never-split tokens (<c>&lt;mask&gt;</c>) are cut out of the text first (<see cref="NeverSplitTokens"/>), and
/// text segments lose their trailing whitespace by ES's rule (BpeTokenizer.fillTokens), so "a &lt;mask&gt;" gives
/// "a", "&lt;mask&gt;".</item>
/// <item>The GPT-2 pattern runs with Java's regex semantics (<see cref="GptPreTokenizer"/>): <c>\s</c> is ASCII whitespace
/// only, so a no-break or ideographic space is a "symbol" run, and letters outside the BMP are letters (the library's
/// RobertaPreTokenizer and HF use Unicode <c>\s</c>; .NET's regex sees surrogates).</item>
/// <item><c>add_prefix_space</c> puts a space before the first pre-token of the whole input only, unless it starts with one.</item>
/// <item>Each pre-token is one word: its pieces share a word position (windows never cut through it) and carry the
/// pre-token's offsets, the first piece without its leading space.</item>
/// <item>ES ranks a pair by its concatenation (BpeTokenizer.build keys the ranks by the merge without its space, a
/// later merge overwriting an earlier one), so [ab, c] merges into "abc" when any merge makes "abc", say "a bc"; the
/// library merges only listed pairs. We give the library every split of each merged string into two mergeable
/// tokens, at the rank ES gives that string (<see cref="EsMerges"/>).</item>
/// </list>
/// </summary>
public sealed class RobertaTokenizer : NlpTokenizer
{
    private readonly BpeTokenizer bpe;
    private readonly NeverSplitTokens neverSplit;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> ids;

    [ThreadStatic]
    private static List<(int Start, int Length, bool NeverSplit)>? segments;

    public RobertaTokenizer(IReadOnlyList<string> vocabulary, IReadOnlyList<string> merges, BertTokenizerOptions options)
        : base(vocabulary, options)
    {
        ArgumentNullException.ThrowIfNull(merges);
        // ES's vocabulary map: a later duplicate wins.
        var map = new Dictionary<string, int>(vocabulary.Count, StringComparer.Ordinal);
        for (var i = 0; i < vocabulary.Count; i++) map[vocabulary[i]] = i;
        ids = map.GetAlternateLookup<ReadOnlySpan<char>>();
        bpe = BpeTokenizer.Create(new BpeOptions(map)
        {
            Merges = EsMerges(merges),
            ByteLevel = true,
            UnknownToken = options.SpecialTokens.Unknown,
        });
        neverSplit = new NeverSplitTokens(options.NeverSplit.Append(options.SpecialTokens.Mask));
    }

    /// <summary>RobertaTokenizationResult.decode: the entry's byte-level chars back to UTF-8 text, trimmed (fill_mask's &lt;mask&gt; carries no space).</summary>
    public override string Decode(string token) => bpe.Decode([bpe.Vocabulary.TryGetValue(token, out var id) ? id : UnknownTokenId]).Trim();

    /// <summary>
    /// Merges that make the library rank pairs as ES does: for each merged string, at the position of the last merge
    /// that makes it, every split of it into two tokens a word can hold (a byte's char or a merged string), the
    /// listed pair first.
    /// </summary>
    internal static List<string> EsMerges(IReadOnlyList<string> merges)
    {
        // Each merged string with the merges that make it, in order; ES ranks it at the last of them.
        var makers = new Dictionary<string, List<int>>(merges.Count, StringComparer.Ordinal);
        var mergedAt = new string[merges.Count];
        for (var i = 0; i < merges.Count; i++)
        {
            mergedAt[i] = merges[i].Replace(" ", "", StringComparison.Ordinal);
            if (!makers.TryGetValue(mergedAt[i], out var list)) makers[mergedAt[i]] = list = [];
            list.Add(i);
        }
        var ranked = new List<string>(merges.Count * 2);
        var listed = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < merges.Count; i++)
        {
            var merged = mergedAt[i];
            var makersOfMerged = makers[merged];
            if (makersOfMerged[^1] != i) continue;
            foreach (var maker in makersOfMerged)
            {
                if (listed.Add(merges[maker])) ranked.Add(merges[maker]);
            }
            for (var cut = 1; cut < merged.Length; cut++)
            {
                var (left, right) = (merged[..cut], merged[cut..]);
                if (Mergeable(left, makers) && Mergeable(right, makers) && listed.Add(left + " " + right)) ranked.Add(left + " " + right);
            }
        }
        return ranked;
    }

    private static bool Mergeable(string token, Dictionary<string, List<int>> makers) => token.Length == 1 || makers.ContainsKey(token);

    // BpeTokenizer.fillTokens: never-split tokens cut out first; the text segments then go through the GPT-2 pattern.
    private protected override void InnerTokenize(string text, PieceBuffer output)
    {
        var parts = segments ??= [];
        neverSplit.Split(text, parts);
        var firstFind = true;
        var word = -1;
        var split = 0;
        foreach (var (start, length, isNeverSplit) in parts)
        {
            var segment = text.AsSpan(start, length);
            if (isNeverSplit)
            {
                output.Add(ids.TryGetValue(segment, out var id) ? id : UnknownTokenId, ++word, start, start + length);
                firstFind = false;
                split++;
                continue;
            }
            // ES strips the trailing whitespace of a text segment before a never-split token ("a <mask>" is "a", "<mask>");
            // its test is the count of never-split tokens seen against the count of segments, as written.
            if (split < parts.Count - 1) segment = segment[..JavaTrimEndLength(segment)];
            Encode(segment, start, ref firstFind, ref word, output);
        }
    }

    // String.stripTrailing: Character.isWhitespace, where a no-break space is not whitespace.
    private static int JavaTrimEndLength(ReadOnlySpan<char> segment)
    {
        var end = segment.Length;
        while (end > 0 && CharClasses.IsJavaWhitespace(segment[end - 1])) end--;
        return end;
    }

    private void Encode(ReadOnlySpan<char> segment, int offset, ref bool firstFind, ref int word, PieceBuffer output)
    {
        for (var at = 0; at < segment.Length;)
        {
            var length = GptPreTokenizer.MatchAt(segment, at);
            var piece = segment.Slice(at, length);
            var matchIndex = at;
            at += length;
            var addedSpace = firstFind && Options.AddPrefixSpace && piece[0] != ' ';
            firstFind = false;
            var input = addedSpace ? string.Concat(" ", piece).AsSpan() : piece;
            var start = offset + matchIndex;
            var end = start + length;
            var position = ++word;
            var first = true;
            foreach (var id in bpe.EncodeToIds(input, considerPreTokenization: false, considerNormalization: false))
            {
                // Only the first piece leaves out a leading space of the text (not one we added).
                var adjust = first && input[0] == ' ' && !addedSpace ? 1 : 0;
                output.Add(id, position, start + adjust, end);
                first = false;
            }
        }
    }
}
