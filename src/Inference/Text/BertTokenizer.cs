using System.Globalization;
using System.Text;

namespace TrainedModelsOrleans.Inference.Text;

/// <summary>
/// Elasticsearch's BERT tokenizer (x-pack ml BertTokenizer, WordPieceAnalyzer, BasicTokenFilter,
/// WordPieceTokenFilter): control characters removed, whitespace split, punctuation and CJK
/// ideographs split into words of their own (never-split tokens such as [MASK] kept whole),
/// accents stripped (NFD, non-spacing marks dropped) when lower-casing, then greedy longest-match
/// WordPiece against the vocabulary, case-insensitively when lower-casing. A word that cannot be
/// covered, or longer than <see cref="MaxInputCharsPerWord"/>, becomes [UNK].
/// Immutable and thread-safe; build once per vocabulary.
/// </summary>
public sealed class BertTokenizer : NlpTokenizer
{
    // BERT's special tokens (SpecialTokens.Bert).
    public const string ClassToken = "[CLS]";
    public const string SeparatorToken = "[SEP]";
    public const string PadToken = "[PAD]";
    public const string UnknownToken = "[UNK]";
    public const string MaskToken = "[MASK]";

    /// <summary>ES's WordPieceTokenFilter limit; longer words are [UNK].</summary>
    public const int MaxInputCharsPerWord = 100;

    /// <summary>Lucene's WhitespaceTokenizer(512) cuts longer runs of non-space characters into pieces of this size.</summary>
    private const int MaxWhitespaceTokenLength = 512;

    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> ids;
    private readonly int longestEntry;
    private readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> neverSplitExact;
    private readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> neverSplitWords;
    private readonly string[][] neverSplitPieces;
    private readonly bool lowerCase;
    private readonly bool stripAccents;
    private readonly bool splitCjk;

    /// <summary>U+0080..U+02FF after NFD and the removal of non-spacing marks.</summary>
    private static readonly string[] LatinStripped = Enumerable.Range(0x80, 0x300 - 0x80)
        .Select(c => new string(((char)c).ToString().Normalize(NormalizationForm.FormD)
            .Where(d => char.GetUnicodeCategory(d) != UnicodeCategory.NonSpacingMark).ToArray()))
        .ToArray();

    [ThreadStatic]
    private static Scratch? scratch;

    public BertTokenizer(IReadOnlyList<string> vocabulary, BertTokenizerOptions? options = null)
        : base(vocabulary, options ?? new BertTokenizerOptions())
    {
        lowerCase = Options.DoLowerCase;
        stripAccents = Options.StripsAccents;
        splitCjk = Options.TokenizeCjkChars;

        // Like ES's CharArrayMap(ignoreCase): keys lower-cased when lower-casing, a later duplicate wins.
        var map = new Dictionary<string, int>(vocabulary.Count, StringComparer.Ordinal);
        for (var i = 0; i < vocabulary.Count; i++)
        {
            var key = lowerCase ? Lower(vocabulary[i]) : vocabulary[i];
            map[key] = i;
            longestEntry = Math.Max(longestEntry, key.Length);
        }
        ids = map.GetAlternateLookup<ReadOnlySpan<char>>();

        var neverSplit = Options.NeverSplit.Append(Options.SpecialTokens.Mask).Distinct(StringComparer.Ordinal).ToArray();
        neverSplitExact = new HashSet<string>(neverSplit, StringComparer.Ordinal).GetAlternateLookup<ReadOnlySpan<char>>();
        neverSplitWords = new HashSet<string>(neverSplit.Select(t => lowerCase ? Lower(t) : t), StringComparer.Ordinal)
            .GetAlternateLookup<ReadOnlySpan<char>>();
        // ES recognises a never-split token inside a word by the pieces punctuation splitting makes of it: "[", "MASK", "]".
        neverSplitPieces = neverSplit.Select(SplitPieces).Where(p => p.Length > 1).ToArray();
    }

    /// <summary>The id of a vocabulary entry as the WordPiece lookup sees it (case-insensitive when lower-casing), or -1.</summary>
    public override int IdOf(string token)
    {
        var key = lowerCase ? Lower(token) : token;
        return ids.TryGetValue(key, out var id) ? id : -1;
    }

    // ES's inner tokenization: control filter, whitespace split, basic split, accents, WordPiece.
    private protected override void InnerTokenize(string text, PieceBuffer output)
    {
        var s = scratch ??= new Scratch();
        ReadOnlySpan<char> chars = text;
        int[]? origin = null;
        var firstRemoved = IndexOfRemoved(chars);
        if (firstRemoved >= 0)
        {
            // Control characters vanish (words around them join); offsets still point into the original text.
            s.EnsureFiltered(text.Length);
            var n = 0;
            for (var i = 0; i < text.Length; i++)
            {
                if (CharClasses.IsRemoved(text[i])) continue;
                s.Filtered[n] = text[i];
                s.Origin[n++] = i;
            }
            chars = s.Filtered.AsSpan(0, n);
            origin = s.Origin;
        }

        var word = -1;
        var at = 0;
        while (at < chars.Length)
        {
            if (CharClasses.IsWhitespace(chars[at]))
            {
                at++;
                continue;
            }
            var start = at;
            while (at < chars.Length && at - start < MaxWhitespaceTokenLength && !CharClasses.IsWhitespace(chars[at])) at++;
            BasicTokenize(chars, start, at, origin, s, output, ref word);
        }
    }

    private static int IndexOfRemoved(ReadOnlySpan<char> chars)
    {
        for (var i = 0; i < chars.Length; i++)
        {
            if (CharClasses.IsRemoved(chars[i])) return i;
        }
        return -1;
    }

    // BasicTokenFilter: a never-split token passes whole; otherwise punctuation (and CJK) chars become
    // words of their own, never-split tokens are glued back, and accents are stripped.
    private void BasicTokenize(ReadOnlySpan<char> chars, int start, int end, int[]? origin, Scratch s, PieceBuffer output, ref int word)
    {
        var token = chars[start..end];
        if (neverSplitExact.Contains(token))
        {
            WordPiece(token, Offset(origin, start), Offset(origin, end - 1) + 1, ++word, s, output);
            return;
        }

        var splits = s.Splits;
        splits.Clear();
        var last = start;
        for (var i = start; i < end; i++)
        {
            var c = chars[i];
            if (!CharClasses.IsPunctuation(c) && !(splitCjk && CharClasses.IsCjk(c))) continue;
            if (i > last) splits.Add((last, i));
            splits.Add((i, i + 1));
            last = i + 1;
        }
        if (last < end) splits.Add((last, end));
        if (splits.Count > 1 && neverSplitPieces.Length > 0) MergeNeverSplit(chars, splits);

        foreach (var (a, b) in splits)
        {
            var piece = chars[a..b];
            if (stripAccents)
            {
                piece = StripAccents(piece, s);
                if (piece.IsEmpty) continue; // a word of combining marks only disappears
            }
            WordPiece(piece, Offset(origin, a), Offset(origin, b - 1) + 1, ++word, s, output);
        }
    }

    private void MergeNeverSplit(ReadOnlySpan<char> chars, List<(int Start, int End)> splits)
    {
        for (var i = 0; i < splits.Count; i++)
        {
            foreach (var pieces in neverSplitPieces)
            {
                if (i + pieces.Length > splits.Count) continue;
                var match = true;
                for (var k = 0; k < pieces.Length && match; k++)
                {
                    var (a, b) = splits[i + k];
                    match = chars[a..b].SequenceEqual(pieces[k]);
                }
                if (!match) continue;
                splits[i] = (splits[i].Start, splits[i + pieces.Length - 1].End);
                splits.RemoveRange(i + 1, pieces.Length - 1);
                break;
            }
        }
    }

    private static int Offset(int[]? origin, int index) => origin is null ? index : origin[index];

    // NFD, then drop non-spacing marks (Mn). ASCII needs neither; text below U+0300 (no combining
    // marks yet) strips char by char from a table; the rest goes through ICU.
    private static ReadOnlySpan<char> StripAccents(ReadOnlySpan<char> piece, Scratch s)
    {
        if (System.Text.Ascii.IsValid(piece)) return piece;
        if (piece.IndexOfAnyInRange('\u0300', '\uFFFF') < 0)
        {
            if (s.Normalized.Length < piece.Length * 4) s.Normalized = new char[piece.Length * 4];
            var length = 0;
            foreach (var c in piece)
            {
                if (c < 0x80)
                {
                    s.Normalized[length++] = c;
                    continue;
                }
                var stripped = LatinStripped[c - 0x80];
                stripped.CopyTo(s.Normalized.AsSpan(length));
                length += stripped.Length;
            }
            return s.Normalized.AsSpan(0, length);
        }

        int written;
        while (!piece.TryNormalize(s.Normalized, out written, NormalizationForm.FormD))
            s.Normalized = new char[s.Normalized.Length * 2];
        var kept = 0;
        for (var i = 0; i < written; i++)
        {
            var c = s.Normalized[i];
            if (char.GetUnicodeCategory(c) != UnicodeCategory.NonSpacingMark) s.Normalized[kept++] = c;
        }
        return s.Normalized.AsSpan(0, kept);
    }

    // WordPieceTokenFilter: greedy longest-match-first with "##" continuations; all pieces of a word
    // share its offsets and position; a word that cannot be covered is a single [UNK].
    private void WordPiece(ReadOnlySpan<char> word, int start, int end, int position, Scratch s, PieceBuffer output)
    {
        var key = word;
        if (lowerCase)
        {
            var lowered = s.Lowered(word.Length);
            for (var i = 0; i < word.Length; i++) lowered[i] = CharClasses.ToLower(word[i]);
            key = lowered.AsSpan(0, word.Length);
        }

        if (neverSplitWords.Contains(key))
        {
            output.Add(ids.TryGetValue(key, out var special) ? special : UnknownTokenId, position, start, end);
            return;
        }
        if (word.Length > MaxInputCharsPerWord)
        {
            output.Add(UnknownTokenId, position, start, end);
            return;
        }

        var mark = output.Count;
        var continuation = s.Continuation;
        var at = 0;
        while (at < key.Length)
        {
            var found = -1;
            var stop = at;
            if (at == 0)
            {
                for (var stopAt = Math.Min(key.Length, longestEntry); stopAt > 0 && found < 0; stopAt--)
                {
                    if (ids.TryGetValue(key[..stopAt], out var id))
                    {
                        found = id;
                        stop = stopAt;
                    }
                }
            }
            else
            {
                // "##" + the rest of the word, looked up with shrinking length.
                var rest = key[at..];
                rest.CopyTo(continuation.AsSpan(2));
                for (var length = Math.Min(rest.Length, longestEntry - 2); length > 0 && found < 0; length--)
                {
                    if (ids.TryGetValue(continuation.AsSpan(0, length + 2), out var id))
                    {
                        found = id;
                        stop = at + length;
                    }
                }
            }
            if (found < 0)
            {
                output.Count = mark;
                output.Add(UnknownTokenId, position, start, end);
                return;
            }
            output.Add(found, position, start, end);
            at = stop;
        }
    }

    private static string Lower(string value)
    {
        var chars = value.ToCharArray();
        for (var i = 0; i < chars.Length; i++) chars[i] = CharClasses.ToLower(chars[i]);
        return new string(chars);
    }

    private static string[] SplitPieces(string token)
    {
        var pieces = new List<string>();
        var last = 0;
        for (var i = 0; i < token.Length; i++)
        {
            if (!CharClasses.IsPunctuation(token[i]) && !CharClasses.IsCjk(token[i])) continue;
            if (i > last) pieces.Add(token[last..i]);
            pieces.Add(token[i..(i + 1)]);
            last = i + 1;
        }
        if (last < token.Length) pieces.Add(token[last..]);
        return [.. pieces];
    }

    /// <summary>Per-thread buffers, so tokenizing allocates only the rows it returns.</summary>
    private sealed class Scratch
    {
        public char[] Filtered = new char[256];
        public int[] Origin = new int[256];
        public char[] Normalized = new char[256];
        public readonly char[] Continuation = CreateContinuation();
        public readonly List<(int Start, int End)> Splits = new(64);
        private char[] lowered = new char[MaxWhitespaceTokenLength];

        public void EnsureFiltered(int length)
        {
            if (Filtered.Length >= length) return;
            Filtered = new char[length];
            Origin = new int[length];
        }

        public char[] Lowered(int length) => lowered.Length >= length ? lowered : lowered = new char[length];

        // Long enough for "##" + any word WordPiece looks into (longer words are [UNK] before any lookup).
        private static char[] CreateContinuation()
        {
            var chars = new char[MaxInputCharsPerWord + 2];
            chars[0] = '#';
            chars[1] = '#';
            return chars;
        }
    }
}
