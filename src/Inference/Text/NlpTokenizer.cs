namespace TrainedModelsOrleans.Inference.Text;

/// <summary>
/// What every Elasticsearch tokenizer shares (x-pack ml NlpTokenizer): the special tokens a vocabulary must hold,
/// special tokens around a sequence or a pair, truncation, and windowing of long inputs. A subclass only turns one
/// text into pieces (<see cref="InnerTokenize"/>): WordPiece for bert and mpnet, byte-level BPE for roberta,
/// SentencePiece unigram for xlm_roberta and deberta_v2. Build one with <see cref="Create"/>. Immutable and
/// thread-safe; build once per vocabulary.
/// </summary>
public abstract class NlpTokenizer
{
    /// <summary>The tokenization names <see cref="Create"/> builds, as ES spells them in <c>tokenization</c>.</summary>
    public static readonly IReadOnlyList<string> Names = ["bert", "mpnet", "roberta", "xlm_roberta", "deberta_v2"];

    private readonly string[] vocabulary;
    private readonly int extraTokensForPair;

    [ThreadStatic]
    private static PieceBuffer? firstBuffer, secondBuffer;

    /// <summary>Checks the special tokens ES requires, with its texts (409 in ES): the unknown and pad tokens always, class and separator with special tokens.</summary>
    protected NlpTokenizer(IReadOnlyList<string> vocabulary, BertTokenizerOptions options)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        this.vocabulary = [.. vocabulary];

        var special = options.SpecialTokens;
        UnknownTokenId = ExactId(special.Unknown);
        PadTokenId = ExactId(special.Pad);
        ClassTokenId = ExactId(special.Class);
        SeparatorTokenId = ExactId(special.Separator);
        MaskTokenId = ExactId(special.Mask) is var mask and >= 0 ? mask : null;
        if (UnknownTokenId < 0) throw Missing([special.Unknown], $"stored vocabulary is missing required [{special.Unknown}] token");
        if (PadTokenId < 0) throw Missing([special.Pad], $"stored vocabulary is missing required [{special.Pad}] token");
        if (options.WithSpecialTokens && (SeparatorTokenId < 0 || ClassTokenId < 0))
        {
            string[] missing = [.. new[] { special.Separator, special.Class }.Where(t => ExactId(t) < 0)];
            throw Missing(missing, $"stored vocabulary is missing required [{string.Join(", ", missing)}] token(s)");
        }
        extraTokensForPair = 2 + special.SeparatorsBetweenPair;
    }

    /// <summary>
    /// The tokenizer ES builds for a tokenization name (NlpTokenizer.build): <c>bert</c> and <c>mpnet</c> from the
    /// vocabulary, <c>roberta</c> with its BPE merges, <c>xlm_roberta</c> and <c>deberta_v2</c> with unigram scores.
    /// The options' special tokens are set from the name. Throws <see cref="ArgumentException"/> for another name or
    /// missing merges/scores, <see cref="MissingSpecialTokenException"/> for a vocabulary without its special tokens.
    /// </summary>
    public static NlpTokenizer Create(
        string tokenization, IReadOnlyList<string> vocabulary, IReadOnlyList<string> merges, IReadOnlyList<double> scores, BertTokenizerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return tokenization switch
        {
            "bert" => new BertTokenizer(vocabulary, options with { SpecialTokens = SpecialTokens.Bert }),
            "mpnet" => new BertTokenizer(vocabulary, options with { SpecialTokens = SpecialTokens.MPNet }),
            "roberta" => new RobertaTokenizer(vocabulary, merges, options with { SpecialTokens = SpecialTokens.Roberta }),
            "xlm_roberta" => UnigramTokenizer.XlmRoberta(vocabulary, scores, options with { SpecialTokens = SpecialTokens.Roberta }),
            "deberta_v2" => UnigramTokenizer.DebertaV2(vocabulary, scores, options with { SpecialTokens = SpecialTokens.DebertaV2 }),
            _ => throw new ArgumentException($"unknown tokenization type [{tokenization}]"),
        };
    }

    public BertTokenizerOptions Options { get; }

    public IReadOnlyList<string> Vocabulary => vocabulary;

    public int UnknownTokenId { get; }

    public int PadTokenId { get; }

    /// <summary>-1 when the vocabulary has no class token (allowed without special tokens).</summary>
    public int ClassTokenId { get; }

    /// <summary>-1 when the vocabulary has no separator token (allowed without special tokens).</summary>
    public int SeparatorTokenId { get; }

    /// <summary>The id of the mask token (<see cref="SpecialTokens.Mask"/>), if the vocabulary has it.</summary>
    public int? MaskTokenId { get; }

    /// <summary>A vocabulary entry as text, for fill_mask's results (ES's TokenizationResult.decode): the entry itself by default.</summary>
    public virtual string Decode(string token) => token;

    /// <summary>DeBERTa-v2 refuses a pair with an empty side (DebertaTokenizationResult: "Both sequences must have at least one token").</summary>
    private protected virtual bool PairNeedsBothSequences => false;

    /// <summary>The id of a vocabulary entry as this tokenizer looks it up, or -1.</summary>
    public virtual int IdOf(string token) => ExactId(token);

    /// <summary>Tokenizes each text with the configured truncation and span.</summary>
    public TokenizedBatch Tokenize(IReadOnlyList<string> texts) => Tokenize(texts, Options.Truncate, Options.Span);

    /// <summary>
    /// Tokenizes each text into one row, or several windows when <paramref name="truncate"/> is
    /// <see cref="Truncation.None"/> and <paramref name="span"/> is set; rows are padded to the longest.
    /// Throws <see cref="TokenizationException"/> when a text is too long and may not be truncated.
    /// </summary>
    public TokenizedBatch Tokenize(IReadOnlyList<string> texts, Truncation truncate, int span)
    {
        ArgumentNullException.ThrowIfNull(texts);
        BertTokenizerOptions.Validate(Options.MaxSequenceLength, truncate, span);
        var pieces = firstBuffer ??= new PieceBuffer();
        var rows = new List<TokenizedSequence>(texts.Count);
        for (var i = 0; i < texts.Count; i++)
        {
            pieces.Count = 0;
            InnerTokenize(texts[i], pieces);
            AddSingle(rows, i, texts[i], pieces, truncate, span);
        }
        return Batch(rows);
    }

    /// <summary>
    /// Tokenizes text pairs as [CLS] a [SEP] b [SEP] (text_similarity, zero-shot; MPNet, RoBERTa and XLM-RoBERTa
    /// double the middle separator). <see cref="Truncation.First"/> cuts the first text, <see cref="Truncation.Second"/>
    /// the second, <see cref="Truncation.Balanced"/> both. Windowing is not supported for pairs.
    /// </summary>
    public TokenizedBatch TokenizePairs(IReadOnlyList<string> first, IReadOnlyList<string> second, Truncation truncate)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        if (first.Count != second.Count) throw new ArgumentException("Both lists of a pair batch must have the same length.");
        if (!Options.WithSpecialTokens) throw new ArgumentException("Unable to do sequence pair tokenization without special tokens");
        var a = firstBuffer ??= new PieceBuffer();
        var b = secondBuffer ??= new PieceBuffer();
        var rows = new List<TokenizedSequence>(first.Count);
        for (var i = 0; i < first.Count; i++)
        {
            a.Count = 0;
            b.Count = 0;
            InnerTokenize(first[i], a);
            InnerTokenize(second[i], b);
            rows.Add(Pair(i, first[i], a, b, truncate));
        }
        return Batch(rows);
    }

    /// <summary>
    /// ES's NlpTokenizer.tokenize(seq1, seq2, truncate, span), for question_answering and text_similarity:
    /// <paramref name="first"/> paired with each of <paramref name="seconds"/>. A pair that does not fit, with a span
    /// set, becomes windows over the second text's pieces (<see cref="PairWindows"/>), each row holding the whole first
    /// text; otherwise <paramref name="truncate"/> applies as in <see cref="TokenizePairs(IReadOnlyList{string}, IReadOnlyList{string}, Truncation)"/>.
    /// A row's sequence id is the index of its second text, and the second text's offsets are in that text.
    /// </summary>
    public TokenizedBatch TokenizePairs(string first, IReadOnlyList<string> seconds, Truncation truncate, int span)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(seconds);
        if (!Options.WithSpecialTokens) throw new ArgumentException("Unable to do sequence pair tokenization without special tokens");
        var a = firstBuffer ??= new PieceBuffer();
        var b = secondBuffer ??= new PieceBuffer();
        a.Count = 0;
        InnerTokenize(first, a);
        var rows = new List<TokenizedSequence>(seconds.Count);
        for (var i = 0; i < seconds.Count; i++)
        {
            b.Count = 0;
            InnerTokenize(seconds[i], b);
            if (span < 0 || a.Count + b.Count + extraTokensForPair <= Options.MaxSequenceLength)
            {
                rows.Add(Pair(i, first, a, b, truncate));
                continue;
            }
            foreach (var (from, to) in PairWindows(b.Words.AsSpan(0, b.Count), a.Count, extraTokensForPair, Options.MaxSequenceLength, span))
                rows.Add(PairRow(i, first, a, a.Count, b, from, to, truncated: false));
        }
        return Batch(rows);
    }

    /// <summary>
    /// The windows over a pair's second text, as [from, to) ranges of its pieces (ES's splitStartPos/splitEndPos loop):
    /// room for what the first text and the special tokens leave, never ending inside a word, overlapping by
    /// <paramref name="span"/> pieces backed up to a word's start. ES's errors: the first text or the span leave no room
    /// (<see cref="ArgumentException"/>), the windows would not move forward (500).
    /// </summary>
    internal static List<(int From, int To)> PairWindows(ReadOnlySpan<int> words, int firstCount, int extraTokens, int maxSequenceLength, int span)
    {
        var room = maxSequenceLength - extraTokens - firstCount;
        if (room <= 0)
        {
            throw new ArgumentException(
                $"Unable to do sequence pair tokenization: the first sequence [{firstCount + extraTokens} tokens] is longer than the max sequence length [{maxSequenceLength} tokens]");
        }
        if (span > room)
        {
            throw new ArgumentException(
                "Unable to do sequence pair tokenization: the combined first sequence, span length and delimiting tokens" +
                $" [{firstCount} + {span} + {extraTokens} = {firstCount + span + extraTokens} tokens] is longer than the max sequence length [{maxSequenceLength} tokens]." +
                " Reduce the size of the [span] window.");
        }

        var windows = new List<(int, int)>();
        var count = words.Length;
        int start = 0, end = 0;
        while (end < count)
        {
            end = Math.Min(start + room, count);
            // Do not end inside a word.
            if (end != count)
            {
                while (end > start + 1 && words[end] == words[end - 1]) end--;
            }
            windows.Add((start, end));
            var previousStart = start;
            start = end - span;
            // ES's IllegalStateException: the window would not move forward.
            if (start <= previousStart) throw new TokenizationException("Tokenization cannot be satisfied with the current span setting. Consider decreasing the span setting", 500);
            // Back up so the window starts on a whole word.
            if (start < count)
            {
                while (start > previousStart + 1 && words[start] == words[start - 1]) start--;
            }
        }
        return windows;
    }

    /// <summary>The pieces of one text, without special tokens, truncation or windowing.</summary>
    public WordPieces TokenizeWords(string text)
    {
        var p = new PieceBuffer();
        InnerTokenize(text, p);
        return new WordPieces(vocabulary, p.Ids[..p.Count], p.Words[..p.Count], p.Starts[..p.Count], p.Ends[..p.Count]);
    }

    /// <summary>
    /// ES's innerTokenize: appends the pieces of <paramref name="text"/> to <paramref name="output"/> (empty on entry),
    /// each with its vocabulary id, word position (pieces of one word share it) and character offsets in the text.
    /// </summary>
    private protected abstract void InnerTokenize(string text, PieceBuffer output);

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
            // first, second and balanced all cut the end of a single sequence.
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
        if (PairNeedsBothSequences && (a.Count == 0 || b.Count == 0)) throw new ArgumentException("Both sequences must have at least one token");
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
                case Truncation.Balanced:
                    // The first keeps up to half the room when the second needs more than half, else what the second leaves.
                    countA = countB > room / 2 ? Math.Min(countA, room / 2) : Math.Min(countA, room - countB);
                    countB = Math.Min(countB, room - countA);
                    break;
                default:
                    throw TokenizationException.TooLong(total, max);
            }
        }

        return PairRow(sequenceId, text, a, countA, b, 0, countB, truncated);
    }

    // [CLS] a[..countA] [SEP]{n} b[fromB..toB] [SEP]; ES continues the second text's word positions from the first's last one.
    private TokenizedSequence PairRow(int sequenceId, string text, PieceBuffer a, int countA, PieceBuffer b, int fromB, int toB, bool truncated)
    {
        var countB = toB - fromB;
        var length = countA + countB + extraTokensForPair;
        var separators = extraTokensForPair - 2;
        var rowIds = new int[length];
        var rowWords = new int[length];
        var rowStarts = new int[length];
        var rowEnds = new int[length];
        SetSpecial(rowIds, rowWords, rowStarts, rowEnds, 0, ClassTokenId);
        Copy(a, 0, countA, rowIds, rowWords, rowStarts, rowEnds, 1, 0);
        for (var i = 0; i < separators; i++) SetSpecial(rowIds, rowWords, rowStarts, rowEnds, 1 + countA + i, SeparatorTokenId);
        var lastWord = countA > 0 ? a.Words[countA - 1] : 0;
        Copy(b, fromB, toB, rowIds, rowWords, rowStarts, rowEnds, 1 + countA + separators, lastWord);
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

    /// <summary>The id ES's sorted vocabulary map gives a token: its last occurrence.</summary>
    private protected int ExactId(string token) => Array.LastIndexOf(vocabulary, token);

    private static MissingSpecialTokenException Missing(string[] tokens, string message) => new(tokens, message);
}

/// <summary>Growable parallel arrays of pieces: id, word position, start and end offset.</summary>
internal sealed class PieceBuffer
{
    public int[] Ids = new int[128];
    public int[] Words = new int[128];
    public int[] Starts = new int[128];
    public int[] Ends = new int[128];
    public int Count;

    /// <summary>The word position of the last piece, or -1.</summary>
    public int LastWord => Count == 0 ? -1 : Words[Count - 1];

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
