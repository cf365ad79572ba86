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
public sealed class BertTokenizer
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

    private readonly string[] vocabulary;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> ids;
    private readonly int longestEntry;
    private readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> neverSplitExact;
    private readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> neverSplitWords;
    private readonly string[][] neverSplitPieces;
    private readonly bool lowerCase;
    private readonly bool stripAccents;
    private readonly bool splitCjk;
    private readonly int extraTokensForPair;

    /// <summary>U+0080..U+02FF after NFD and the removal of non-spacing marks.</summary>
    private static readonly string[] LatinStripped = Enumerable.Range(0x80, 0x300 - 0x80)
        .Select(c => new string(((char)c).ToString().Normalize(NormalizationForm.FormD)
            .Where(d => char.GetUnicodeCategory(d) != UnicodeCategory.NonSpacingMark).ToArray()))
        .ToArray();

    [ThreadStatic]
    private static Scratch? scratch;

    public BertTokenizer(IReadOnlyList<string> vocabulary, BertTokenizerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        Options = options ?? new BertTokenizerOptions();
        Options.Validate();
        this.vocabulary = vocabulary.ToArray();
        lowerCase = Options.DoLowerCase;
        stripAccents = Options.StripsAccents;
        splitCjk = Options.TokenizeCjkChars;

        // Like ES's CharArrayMap(ignoreCase): keys lower-cased when lower-casing, a later duplicate wins.
        var map = new Dictionary<string, int>(this.vocabulary.Length, StringComparer.Ordinal);
        for (var i = 0; i < this.vocabulary.Length; i++)
        {
            var key = lowerCase ? Lower(this.vocabulary[i]) : this.vocabulary[i];
            map[key] = i;
            longestEntry = Math.Max(longestEntry, key.Length);
        }
        ids = map.GetAlternateLookup<ReadOnlySpan<char>>();

        var special = Options.SpecialTokens;
        UnknownTokenId = ExactId(special.Unknown);
        PadTokenId = ExactId(special.Pad);
        ClassTokenId = ExactId(special.Class);
        SeparatorTokenId = ExactId(special.Separator);
        MaskTokenId = ExactId(special.Mask) is var mask and >= 0 ? mask : null;
        if (UnknownTokenId < 0) throw Missing([special.Unknown], $"stored vocabulary is missing required [{special.Unknown}] token");
        if (PadTokenId < 0) throw Missing([special.Pad], $"stored vocabulary is missing required [{special.Pad}] token");
        if (Options.WithSpecialTokens && (SeparatorTokenId < 0 || ClassTokenId < 0))
        {
            string[] missing = [.. new[] { special.Separator, special.Class }.Where(t => ExactId(t) < 0)];
            throw Missing(missing, $"stored vocabulary is missing required [{string.Join(", ", missing)}] token(s)");
        }
        extraTokensForPair = 2 + special.SeparatorsBetweenPair;

        var neverSplit = Options.NeverSplit.Append(special.Mask).Distinct(StringComparer.Ordinal).ToArray();
        neverSplitExact = new HashSet<string>(neverSplit, StringComparer.Ordinal).GetAlternateLookup<ReadOnlySpan<char>>();
        neverSplitWords = new HashSet<string>(neverSplit.Select(t => lowerCase ? Lower(t) : t), StringComparer.Ordinal)
            .GetAlternateLookup<ReadOnlySpan<char>>();
        // ES recognises a never-split token inside a word by the pieces punctuation splitting makes of it: "[", "MASK", "]".
        neverSplitPieces = neverSplit.Select(SplitPieces).Where(p => p.Length > 1).ToArray();
    }

    public BertTokenizerOptions Options { get; }

    public IReadOnlyList<string> Vocabulary => vocabulary;

    public int UnknownTokenId { get; }

    public int PadTokenId { get; }

    /// <summary>-1 when the vocabulary has no [CLS] (allowed without special tokens).</summary>
    public int ClassTokenId { get; }

    /// <summary>-1 when the vocabulary has no [SEP] (allowed without special tokens).</summary>
    public int SeparatorTokenId { get; }

    /// <summary>The id of the mask token (<see cref="SpecialTokens.Mask"/>), if the vocabulary has it.</summary>
    public int? MaskTokenId { get; }

    /// <summary>The id of a vocabulary entry as the WordPiece lookup sees it (case-insensitive when lower-casing), or -1.</summary>
    public int IdOf(string token)
    {
        var key = lowerCase ? Lower(token) : token;
        return ids.TryGetValue(key, out var id) ? id : -1;
    }

    /// <summary>Tokenizes each text with the configured truncation and span.</summary>
    public TokenizedBatch Tokenize(IReadOnlyList<string> texts) => Tokenize(texts, Options.Truncate, Options.Span);

    /// <summary>
    /// Tokenizes each text into one row, or several windows when <paramref name="truncate"/> is
    /// <see cref="Truncation.None"/> and <paramref name="span"/> is set; rows are padded to the longest.
    /// Throws <see cref="TokenizationException"/> when a text is too long and may not be truncated.
    /// </summary>
    public TokenizedBatch Tokenize(IReadOnlyList<string> texts, Truncation truncate, int span)
    {
        BertTokenizerOptions.Validate(Options.MaxSequenceLength, truncate, span);
        var s = scratch ??= new Scratch();
        var rows = new List<TokenizedSequence>(texts.Count);
        for (var i = 0; i < texts.Count; i++)
        {
            InnerTokenize(texts[i], s, s.First);
            AddSingle(rows, i, texts[i], s.First, truncate, span);
        }
        return Batch(rows);
    }

    /// <summary>
    /// Tokenizes text pairs as [CLS] a [SEP] b [SEP] (text_similarity, zero-shot; MPNet doubles the
    /// middle separator). <see cref="Truncation.First"/> cuts the first text, <see cref="Truncation.Second"/>
    /// the second. Windowing is not supported for pairs.
    /// </summary>
    public TokenizedBatch TokenizePairs(IReadOnlyList<string> first, IReadOnlyList<string> second, Truncation truncate)
    {
        if (first.Count != second.Count) throw new ArgumentException("Both lists of a pair batch must have the same length.");
        if (!Options.WithSpecialTokens) throw new ArgumentException("Unable to do sequence pair tokenization without special tokens");
        var s = scratch ??= new Scratch();
        var rows = new List<TokenizedSequence>(first.Count);
        for (var i = 0; i < first.Count; i++)
        {
            InnerTokenize(first[i], s, s.First);
            InnerTokenize(second[i], s, s.Second);
            rows.Add(Pair(i, first[i], s.First, s.Second, truncate));
        }
        return Batch(rows);
    }

    /// <summary>The word pieces of one text, without special tokens, truncation or windowing.</summary>
    public WordPieces TokenizeWords(string text)
    {
        var s = scratch ??= new Scratch();
        var p = s.First;
        InnerTokenize(text, s, p);
        return new WordPieces(vocabulary, p.Ids[..p.Count], p.Words[..p.Count], p.Starts[..p.Count], p.Ends[..p.Count]);
    }

    private TokenizedBatch Batch(List<TokenizedSequence> rows)
    {
        var longest = 0;
        foreach (var row in rows) longest = Math.Max(longest, row.Length);
        return new TokenizedBatch([.. rows], PadTokenId, longest);
    }

    // ES's NlpTokenizer.tokenize(seq, truncate, span): truncate, refuse, or cut into windows that
    // end on word boundaries and overlap by `span` tokens.
    private void AddSingle(List<TokenizedSequence> rows, int sequenceId, string text, PieceBuffer p, Truncation truncate, int span)
    {
        var special = Options.WithSpecialTokens;
        var max = Options.MaxSequenceLength;
        var room = special ? max - 2 : max;
        var total = special ? p.Count + 2 : p.Count;
        if (total <= max || (truncate == Truncation.None && span == BertTokenizerOptions.NoSpan))
        {
            if (total > max) throw TokenizationException.TooLong(total, max);
            rows.Add(Row(sequenceId, text, p, 0, p.Count, false, BertTokenizerOptions.NoSpan));
            return;
        }
        if (truncate != Truncation.None)
        {
            rows.Add(Row(sequenceId, text, p, 0, Math.Max(room, 0), true, BertTokenizerOptions.NoSpan));
            return;
        }

        var n = p.Count;
        var window = Math.Max(room, 1);
        var start = 0;
        var end = 0;
        var spanPrev = BertTokenizerOptions.NoSpan;
        while (end < n)
        {
            end = Math.Min(start + window, n);
            if (end != n)
            {
                // Do not end inside a word, unless the window holds nothing but that word.
                var cut = end;
                while (cut > start + 1 && p.Words[cut] == p.Words[cut - 1]) cut--;
                if (p.Words[cut] != p.Words[cut - 1]) end = cut;
            }
            rows.Add(Row(sequenceId, text, p, start, end, false, spanPrev));
            if (end == n) break;
            spanPrev = span;
            var previousStart = start;
            start = Math.Max(end - span, previousStart + 1);
            // Back up so the window starts on a whole word.
            while (start > previousStart + 1 && p.Words[start] == p.Words[start - 1])
            {
                start--;
                spanPrev++;
            }
        }
    }

    private TokenizedSequence Row(int sequenceId, string text, PieceBuffer p, int from, int to, bool truncated, int spanPrev)
    {
        var special = Options.WithSpecialTokens;
        var length = to - from + (special ? 2 : 0);
        var rowIds = new int[length];
        var rowWords = new int[length];
        var rowStarts = new int[length];
        var rowEnds = new int[length];
        var at = 0;
        if (special) SetSpecial(rowIds, rowWords, rowStarts, rowEnds, at++, ClassTokenId);
        Copy(p, from, to, rowIds, rowWords, rowStarts, rowEnds, at, 0);
        at += to - from;
        if (special) SetSpecial(rowIds, rowWords, rowStarts, rowEnds, at, SeparatorTokenId);
        return new TokenizedSequence(vocabulary, sequenceId, text, rowIds, rowWords, rowStarts, rowEnds, truncated, spanPrev);
    }

    // ES's NlpTokenizer.tokenize(seq1, seq2, truncate): the pair must fit after cutting the chosen side.
    private TokenizedSequence Pair(int sequenceId, string text, PieceBuffer a, PieceBuffer b, Truncation truncate)
    {
        var max = Options.MaxSequenceLength;
        var room = max - extraTokensForPair;
        int countA = a.Count, countB = b.Count;
        var total = countA + countB + extraTokensForPair;
        var truncated = false;
        if (total > max)
        {
            truncated = true;
            switch (truncate)
            {
                case Truncation.First:
                    if (countB > room) throw PairTooLong(truncate, "second", countB, room);
                    countA = room - countB;
                    break;
                case Truncation.Second:
                    if (countA > room) throw PairTooLong(truncate, "first", countA, room);
                    countB = room - countA;
                    break;
                default:
                    throw TokenizationException.TooLong(total, max);
            }
        }

        var length = countA + countB + extraTokensForPair;
        var separators = extraTokensForPair - 2;
        var rowIds = new int[length];
        var rowWords = new int[length];
        var rowStarts = new int[length];
        var rowEnds = new int[length];
        SetSpecial(rowIds, rowWords, rowStarts, rowEnds, 0, ClassTokenId);
        Copy(a, 0, countA, rowIds, rowWords, rowStarts, rowEnds, 1, 0);
        for (var i = 0; i < separators; i++) SetSpecial(rowIds, rowWords, rowStarts, rowEnds, 1 + countA + i, SeparatorTokenId);
        // ES continues the second sequence's word positions from the first's last one.
        var lastWord = countA > 0 ? a.Words[countA - 1] : 0;
        Copy(b, 0, countB, rowIds, rowWords, rowStarts, rowEnds, 1 + countA + separators, lastWord);
        SetSpecial(rowIds, rowWords, rowStarts, rowEnds, length - 1, SeparatorTokenId);
        return new TokenizedSequence(vocabulary, sequenceId, text, rowIds, rowWords, rowStarts, rowEnds, truncated, BertTokenizerOptions.NoSpan);
    }

    private static TokenizationException PairTooLong(Truncation truncate, string which, int tokens, int room) => new(
        $"Attempting truncation [{BertTokenizerOptions.NameOf(truncate)}] but input is too large for the {which} sequence. " +
        $"The tokenized input length [{tokens}] exceeds the maximum sequence length [{room}], when taking special tokens into account");

    private static void SetSpecial(int[] rowIds, int[] rowWords, int[] rowStarts, int[] rowEnds, int at, int id)
    {
        rowIds[at] = id;
        rowWords[at] = -1;
        rowStarts[at] = -1;
        rowEnds[at] = -1;
    }

    private static void Copy(PieceBuffer p, int from, int to, int[] rowIds, int[] rowWords, int[] rowStarts, int[] rowEnds, int at, int wordOffset)
    {
        var count = to - from;
        Array.Copy(p.Ids, from, rowIds, at, count);
        Array.Copy(p.Starts, from, rowStarts, at, count);
        Array.Copy(p.Ends, from, rowEnds, at, count);
        if (wordOffset == 0)
        {
            Array.Copy(p.Words, from, rowWords, at, count);
        }
        else
        {
            for (var i = 0; i < count; i++) rowWords[at + i] = p.Words[from + i] + wordOffset;
        }
    }

    // ES's inner tokenization: control filter, whitespace split, basic split, accents, WordPiece.
    private void InnerTokenize(string text, Scratch s, PieceBuffer output)
    {
        output.Count = 0;
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

    private int ExactId(string token) => Array.LastIndexOf(vocabulary, token);

    private static MissingSpecialTokenException Missing(string[] tokens, string message) => new(tokens, message);

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
        public readonly PieceBuffer First = new();
        public readonly PieceBuffer Second = new();
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

    /// <summary>Growable parallel arrays of word pieces: id, word position, start and end offset.</summary>
    private sealed class PieceBuffer
    {
        public int[] Ids = new int[128];
        public int[] Words = new int[128];
        public int[] Starts = new int[128];
        public int[] Ends = new int[128];
        public int Count;

        public void Add(int id, int word, int start, int end)
        {
            if (Count == Ids.Length)
            {
                var size = Ids.Length * 2;
                Array.Resize(ref Ids, size);
                Array.Resize(ref Words, size);
                Array.Resize(ref Starts, size);
                Array.Resize(ref Ends, size);
            }
            Ids[Count] = id;
            Words[Count] = word;
            Starts[Count] = start;
            Ends[Count] = end;
            Count++;
        }
    }
}
