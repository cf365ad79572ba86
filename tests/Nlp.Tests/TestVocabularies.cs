using TrainedModelsOrleans.Inference.Text;

namespace TrainedModelsOrleans.Nlp.Tests;

/// <summary>The vocabularies of Elasticsearch's BertTokenizerTests.</summary>
internal static class TestVocabularies
{
    /// <summary>BertTokenizerTests.TEST_CASED_VOCAB: [CLS] = 12, [SEP] = 13, [MASK] = 14, [UNK] = 15, [PAD] = 19.</summary>
    public static readonly IReadOnlyList<string> Cased =
    [
        "Elastic", "##search", "is", "fun", "my", "little", "red", "car", "God", "##zilla", ".", ",",
        BertTokenizer.ClassToken, BertTokenizer.SeparatorToken, BertTokenizer.MaskToken, BertTokenizer.UnknownToken,
        "day", "Pancake", "with", BertTokenizer.PadToken, "?",
    ];

    public static BertTokenizer Tokenizer(
        bool withSpecialTokens = true, int maxSequenceLength = 512, Truncation truncate = Truncation.First, int span = -1, bool lowerCase = false,
        IReadOnlyList<string>? vocabulary = null) =>
        new(vocabulary ?? Cased, new BertTokenizerOptions
        {
            DoLowerCase = lowerCase,
            WithSpecialTokens = withSpecialTokens,
            MaxSequenceLength = maxSequenceLength,
            Truncate = truncate,
            Span = span,
        });
}
