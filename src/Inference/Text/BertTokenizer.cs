using System.Globalization;
using System.Text;
using Microsoft.ML.Tokenizers;

namespace TrainedModelsOrleans.Inference.Text;

/// <summary>
/// Elasticsearch's BERT and MPNet tokenizer (x-pack ml BertTokenizer, MPNetTokenizer, WordPieceAnalyzer,
/// BasicTokenFilter, WordPieceTokenFilter): control characters removed, whitespace split, punctuation and CJK
/// ideographs split into words of their own (never-split tokens such as [MASK] kept whole), accents stripped
/// (NFD, non-spacing marks dropped) when lower-casing, then greedy longest-match WordPiece against the
/// vocabulary, case-insensitively when lower-casing. A word that cannot be covered, or longer than
/// <see cref="MaxInputCharsPerWord"/>, becomes [UNK]. Immutable and thread-safe; build once per vocabulary.
/// <para>
/// The WordPiece step is Microsoft.ML.Tokenizers' <see cref="WordPieceTokenizer"/>. The analysis before it is ours,
/// because ES's differs from the library's BertTokenizer (normalizer + pre-tokenizer) in ways a model notices:
/// </para>
/// <list type="bullet">
/// <item>With do_lower_case ES lower-cases the vocabulary too (a CharArrayMap that ignores case), so a cased entry
/// matches lower-cased input; the library lower-cases only the input. We give the library lower-cased keys.</item>
/// <item>Never-split tokens are found inside words by the pieces punctuation splitting makes of them ("x[MASK]y").</item>
/// <item>Java's character classes: Character.isWhitespace (no-break spaces are not whitespace), ES's punctuation
/// set, control/format/private-use/surrogate chars removed, Character.toLowerCase (U+0130 → i); .NET's differ.</item>
/// <item>Lucene's WhitespaceTokenizer cuts runs of more than 512 non-space chars into pieces.</item>
/// <item>Word positions and offsets (ES's token map) for windowing, NER and fill_mask.</item>
/// </list>
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
    private readonly WordPieceTokenizer wordPiece;
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
        var keys = new string[vocabulary.Count];
        for (var i = 0; i < vocabulary.Count; i++)
        {
            keys[i] = lowerCase ? Lower(vocabulary[i]) : vocabulary[i];
            map[keys[i]] = i;
        }
        ids = map.GetAlternateLookup<ReadOnlySpan<char>>();
        wordPiece = WordPieceTokenizer.Create(VocabularyFile(keys, map), new WordPieceOptions
        {
            UnknownToken = ExactId(Options.SpecialTokens.Unknown) is var unknown and >= 0 ? keys[unknown] : Options.SpecialTokens.Unknown,
            ContinuingSubwordPrefix = "##",
            MaxInputCharsPerWord = MaxInputCharsPerWord,
        });

        var neverSplit = Options.NeverSplit.Append(Options.SpecialTokens.Mask).Distinct(StringComparer.Ordinal).ToArray();
        neverSplitExact = new HashSet<string>(neverSplit, StringComparer.Ordinal).GetAlternateLookup<ReadOnlySpan<char>>();
        neverSplitWords = new HashSet<string>(neverSplit.Select(t => lowerCase ? Lower(t) : t), StringComparer.Ordinal)
            .GetAlternateLookup<ReadOnlySpan<char>>();
        // ES recognises a never-split token inside a word by the pieces punctuation splitting makes of it: "[", "MASK", "]".
        neverSplitPieces = neverSplit.Select(SplitPieces).Where(p => p.Length > 1).ToArray();
    }

    // The library reads a vocabulary file, one entry a line, the line number its id. Lines it could not use as
    // they are (an earlier duplicate, which ES's map overwrites; an entry with a line break or blank) become
    // entries no word can match: the control char \u0001 never survives ES's control filter.
    private static MemoryStream VocabularyFile(string[] keys, Dictionary<string, int> ids)
    {
        var text = new StringBuilder();
        for (var i = 0; i < keys.Length; i++)
        {
            var key = keys[i];
            var usable = ids[key] == i && !string.IsNullOrWhiteSpace(key) && key.Trim() == key && key.IndexOfAny(['\r', '\n']) < 0;
            text.Append(usable ? key : $"\u0001{i}").Append('\n');
        }
        return new MemoryStream(Encoding.UTF8.GetBytes(text.ToString()));
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

    // WordPieceTokenFilter: greedy longest-match-first with "##" continuations (the library's WordPiece, over the
    // lookup keys); all pieces of a word share its offsets and position; a word that cannot be covered is a single [UNK].
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

        foreach (var id in wordPiece.EncodeToIds(key, considerPreTokenization: false, considerNormalization: false))
            output.Add(id, position, start, end);
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
        public readonly List<(int Start, int End)> Splits = new(64);
        private char[] lowered = new char[MaxWhitespaceTokenLength];

        public void EnsureFiltered(int length)
        {
            if (Filtered.Length >= length) return;
            Filtered = new char[length];
            Origin = new int[length];
        }

        public char[] Lowered(int length) => lowered.Length >= length ? lowered : lowered = new char[length];
    }
}
