namespace TrainedModelsOrleans.Inference.Text;

/// <summary>What to do with input longer than the maximum sequence length (ES's Tokenization.Truncate).</summary>
public enum Truncation
{
    /// <summary>Cut the end of a single sequence; of a pair, cut the first sequence.</summary>
    First,

    /// <summary>Cut the end of a single sequence; of a pair, cut the second sequence.</summary>
    Second,

    /// <summary>Refuse the input, or window it when a span is set.</summary>
    None,

    /// <summary>Cut the end of a single sequence; of a pair, cut both so each keeps up to half the room ([new] in ES).</summary>
    Balanced,
}

/// <summary>
/// The settings of every tokenizer (the name is historical: it began with BERT), with Elasticsearch's defaults
/// (Tokenization.java and its subclasses): no lower-casing, special tokens on, 512 tokens, truncate first, no windowing.
/// </summary>
public sealed record BertTokenizerOptions
{
    public const int NoSpan = -1;
    public const int DefaultMaxSequenceLength = 512;

    public bool DoLowerCase { get; init; }

    /// <summary>Strip accents (NFD, then drop non-spacing marks); null follows <see cref="DoLowerCase"/> as ES does.</summary>
    public bool? DoStripAccents { get; init; }

    /// <summary>Split every CJK ideograph into its own word.</summary>
    public bool TokenizeCjkChars { get; init; } = true;

    /// <summary>Add [CLS] before and [SEP] after each sequence.</summary>
    public bool WithSpecialTokens { get; init; } = true;

    public int MaxSequenceLength { get; init; } = DefaultMaxSequenceLength;

    public Truncation Truncate { get; init; } = Truncation.First;

    /// <summary>Tokens shared by consecutive windows of a long input; <see cref="NoSpan"/> for no windowing (needs <see cref="Truncation.None"/>).</summary>
    public int Span { get; init; } = NoSpan;

    /// <summary>Words kept whole and looked up as they are; the mask token is always one of them.</summary>
    public IReadOnlyList<string> NeverSplit { get; init; } = [];

    /// <summary>roberta only: a space before the first word, so it is encoded like any other word (ES default false).</summary>
    public bool AddPrefixSpace { get; init; }

    /// <summary>BERT's [CLS]/[SEP]/... or MPNet's &lt;s&gt;/&lt;/s&gt;/...</summary>
    public SpecialTokens SpecialTokens { get; init; } = SpecialTokens.Bert;

    public bool StripsAccents => DoStripAccents ?? DoLowerCase;

    /// <summary>ES's Tokenization constructor checks, with its texts; throws <see cref="ArgumentException"/>.</summary>
    public void Validate() => Validate(MaxSequenceLength, Truncate, Span);

    /// <summary>Checks a truncate/span pair (e.g. one given per request) against a maximum sequence length.</summary>
    public static void Validate(int maxSequenceLength, Truncation truncate, int span)
    {
        if (maxSequenceLength <= 0)
            throw new ArgumentException("[max_sequence_length] must be positive");
        if (span < 0 && span != NoSpan)
            throw new ArgumentException("[span] must be non-negative to indicate span length or [-1] to indicate no windowing should occur");
        if (span > maxSequenceLength)
            throw new ArgumentException($"[span] provided [{span}] must not be greater than [max_sequence_length] provided [{maxSequenceLength}]");
        if (span != NoSpan && truncate != Truncation.None)
            throw new ArgumentException($"[span] must not be provided when [truncate] is [{NameOf(truncate)}]");
    }

    /// <summary>The name ES uses in settings and messages: first, second, none.</summary>
    public static string NameOf(Truncation truncate) => truncate switch
    {
        Truncation.First => "first",
        Truncation.Second => "second",
        Truncation.Balanced => "balanced",
        _ => "none",
    };
}

/// <summary>
/// The special tokens of a vocabulary and how a pair is joined: BERT's and DeBERTa-v2's
/// [CLS] a [SEP] b [SEP], MPNet's, RoBERTa's and XLM-RoBERTa's &lt;s&gt; a &lt;/s&gt;&lt;/s&gt; b &lt;/s&gt;
/// (ES's BertTokenizer, MPNetTokenizer, RobertaTokenizer, XLMRobertaTokenizer, DebertaV2Tokenizer).
/// </summary>
public sealed record SpecialTokens(string Class, string Separator, string Pad, string Unknown, string Mask, int SeparatorsBetweenPair)
{
    public static readonly SpecialTokens Bert = new("[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]", 1);

    public static readonly SpecialTokens MPNet = new("<s>", "</s>", "<pad>", "[UNK]", "<mask>", 2);

    /// <summary>RoBERTa's and XLM-RoBERTa's.</summary>
    public static readonly SpecialTokens Roberta = new("<s>", "</s>", "<pad>", "<unk>", "<mask>", 2);

    public static readonly SpecialTokens DebertaV2 = Bert;
}
