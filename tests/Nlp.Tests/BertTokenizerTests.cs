using TrainedModelsOrleans.Inference.Text;

namespace TrainedModelsOrleans.Nlp.Tests;

/// <summary>Examples from Elasticsearch's BertTokenizerTests, plus padding, offsets and the edges of the analysis chain.</summary>
public class BertTokenizerTests
{
    private static TokenizedSequence Single(BertTokenizer tokenizer, string text, Truncation truncate = Truncation.None, int span = -1) =>
        Assert.Single(tokenizer.Tokenize([text], truncate, span).Sequences);

    [Fact]
    public void Elasticsearch_fun_is_two_words_of_three_pieces()
    {
        var row = Single(TestVocabularies.Tokenizer(withSpecialTokens: false), "Elasticsearch fun");

        Assert.Equal(["Elastic", "##search", "fun"], row.Tokens);
        Assert.Equal([0, 1, 3], row.TokenIds.ToArray());
        Assert.Equal([0, 0, 1], row.WordPositions.ToArray());
    }

    [Fact]
    public void Special_tokens_surround_the_sequence_and_map_to_no_word()
    {
        var row = Single(TestVocabularies.Tokenizer(), "Elasticsearch fun");

        Assert.Equal([12, 0, 1, 3, 13], row.TokenIds.ToArray());
        Assert.Equal([-1, 0, 0, 1, -1], row.WordPositions.ToArray());
    }

    [Fact]
    public void Never_split_token_missing_from_the_vocabulary_is_unknown()
    {
        var tokenizer = new BertTokenizer(TestVocabularies.Cased, new BertTokenizerOptions { WithSpecialTokens = false, NeverSplit = ["SP001"] });

        var row = Single(tokenizer, "Elasticsearch SP001 fun");

        Assert.Equal([0, 1, 15, 3], row.TokenIds.ToArray());
        Assert.Equal([0, 0, 1, 2], row.WordPositions.ToArray());
    }

    [Fact]
    public void Lower_casing_makes_the_vocabulary_lookup_case_insensitive()
    {
        string[] vocabulary = ["elastic", "##search", "fun", BertTokenizer.UnknownToken, BertTokenizer.PadToken];
        var cased = TestVocabularies.Tokenizer(withSpecialTokens: false, vocabulary: vocabulary);
        var uncased = TestVocabularies.Tokenizer(withSpecialTokens: false, lowerCase: true, vocabulary: vocabulary);

        Assert.Equal([3, 2], Single(cased, "Elasticsearch fun").TokenIds.ToArray());
        Assert.Equal([0, 1, 2], Single(cased, "elasticsearch fun").TokenIds.ToArray());
        Assert.Equal([0, 1, 2], Single(uncased, "Elasticsearch fun").TokenIds.ToArray());
        Assert.Equal([0, 0, 1], Single(uncased, "Elasticsearch fun").WordPositions.ToArray());
    }

    [Fact]
    public void Punctuation_splits_words_and_mask_stays_whole()
    {
        var tokenizer = TestVocabularies.Tokenizer(withSpecialTokens: false);

        var row = Single(tokenizer, "Elasticsearch, fun.");
        Assert.Equal(["Elastic", "##search", ",", "fun", "."], row.Tokens);
        Assert.Equal([0, 1, 11, 3, 10], row.TokenIds.ToArray());
        Assert.Equal([0, 0, 1, 2, 3], row.WordPositions.ToArray());

        row = Single(tokenizer, "Elasticsearch, fun [MASK].");
        Assert.Equal([0, 1, 11, 3, 14, 10], row.TokenIds.ToArray());
        Assert.Equal([0, 0, 1, 2, 3, 4], row.WordPositions.ToArray());
    }

    [Fact]
    public void Mask_glued_to_punctuation_is_recognised()
    {
        string[] vocabulary =
        [
            "[CLS]", "This", "is", "[MASK]", "-", "~", "ta", "##stic", "!", "[SEP]", "sub", ",", ".",
            BertTokenizer.UnknownToken, BertTokenizer.PadToken,
        ];
        var tokenizer = TestVocabularies.Tokenizer(vocabulary: vocabulary);

        var row = Single(tokenizer, "This is [MASK]-tastic!");
        Assert.Equal([0, 1, 2, 3, 4, 6, 7, 8, 9], row.TokenIds.ToArray());
        Assert.Equal([-1, 0, 1, 2, 3, 4, 4, 5, -1], row.WordPositions.ToArray());

        row = Single(tokenizer, "This is sub~[MASK]!");
        Assert.Equal([0, 1, 2, 10, 5, 3, 8, 9], row.TokenIds.ToArray());
        Assert.Equal([-1, 0, 1, 2, 3, 4, 5, -1], row.WordPositions.ToArray());

        row = Single(tokenizer, "This is sub,[MASK].tastic!");
        Assert.Equal([0, 1, 2, 10, 11, 3, 12, 6, 7, 8, 9], row.TokenIds.ToArray());
        Assert.Equal([-1, 0, 1, 2, 3, 4, 5, 6, 6, 7, -1], row.WordPositions.ToArray());
    }

    [Fact]
    public void Accents_are_stripped_and_marks_alone_vanish()
    {
        string[] vocabulary =
        [
            "Arabic", ":", "و, ##ق", "3", "ا, ##ل, ##ا, ##ز, ##د, ##ه, ##ا, ##م", ".", "4", "There", "are", "2", "main", "types", "of",
            "non", "mel", "##ano", "##ma", "skin", "cancer", "basel", "cell", "car", "##cino", "(", ")", "BCC", "SCC", "and", "squamous",
            BertTokenizer.ClassToken, BertTokenizer.SeparatorToken, BertTokenizer.MaskToken, BertTokenizer.UnknownToken, BertTokenizer.PadToken,
        ];
        var tokenizer = TestVocabularies.Tokenizer(lowerCase: true, vocabulary: vocabulary);

        var arabic = "  Arabic: \u0648\u064E\u0642\u0652 3 \u064F \u0627\u0644\u0650\u0627\u0632\u0652\u062F\u0650\u0647\u064E\u0627\u0645.4  ";
        Assert.Equal([29, 0, 1, 32, 3, 32, 5, 6, 30], Single(tokenizer, arabic).TokenIds.ToArray());

        var english = "There are 2 main types of non melanoma skin cancer \u0336\u0336 basal cell carcinoma (BCC) and squamous cell carcinoma (SCC).";
        int[] expected = [29, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 32, 20, 21, 22, 16, 23, 25, 24, 27, 28, 20, 21, 22, 16, 23, 26, 24, 5, 30];
        Assert.Equal(expected, Single(tokenizer, english).TokenIds.ToArray());
    }

    [Fact]
    public void Latin_accents_are_stripped_when_lower_casing()
    {
        string[] vocabulary = ["cafe", "deja", "vu", "uber", "sao", "[UNK]", "[PAD]", "[CLS]", "[SEP]"];
        var tokenizer = TestVocabularies.Tokenizer(withSpecialTokens: false, lowerCase: true, vocabulary: vocabulary);

        var row = Single(tokenizer, "Café DÉJÀ vu über São");

        Assert.Equal([0, 1, 2, 3, 4], row.TokenIds.ToArray());
        Assert.Equal([0, 5, 10, 13, 18], row.StartOffsets.ToArray());
        Assert.Equal([5, 5], Single(TestVocabularies.Tokenizer(withSpecialTokens: false, vocabulary: vocabulary), "Café über").TokenIds.ToArray());
    }

    [Fact]
    public void Mpnet_uses_its_own_special_tokens_and_two_separators_between_a_pair()
    {
        string[] vocabulary = ["<s>", "<pad>", "</s>", "[UNK]", "<mask>", "fun", "car", "."];
        var tokenizer = new BertTokenizer(vocabulary, new BertTokenizerOptions { SpecialTokens = SpecialTokens.MPNet });

        Assert.Equal(["<s>", "fun", "<mask>", ".", "</s>"], Single(tokenizer, "fun <mask>.").Tokens);
        var pair = Assert.Single(tokenizer.TokenizePairs(["fun"], ["car"], Truncation.None).Sequences);
        Assert.Equal(["<s>", "fun", "</s>", "</s>", "car", "</s>"], pair.Tokens);
        Assert.Equal(4, tokenizer.MaskTokenId);

        var missing = Assert.Throws<MissingSpecialTokenException>(() => new BertTokenizer(["[UNK]", "<pad>"], new BertTokenizerOptions { SpecialTokens = SpecialTokens.MPNet }));
        Assert.Equal("stored vocabulary is missing required [</s>, <s>] token(s)", missing.Message);
    }

    [Fact]
    public void Hangul_syllables_decompose_into_jamo_pieces()
    {
        string[] vocabulary =
        [
            "[CLS]", "br", "##\u110E", "##\u1161", "##\u11BC", "##n", "'", "s", "[SEP]",
            BertTokenizer.MaskToken, BertTokenizer.UnknownToken, BertTokenizer.PadToken,
        ];
        var tokenizer = TestVocabularies.Tokenizer(lowerCase: true, vocabulary: vocabulary);

        Assert.Equal([0, 1, 2, 3, 4, 5, 6, 7, 8], Single(tokenizer, "Br\uCC3Dn's").TokenIds.ToArray());
        Assert.Equal([0, 1, 2, 3, 4, 5, 8], Single(tokenizer, "Br\uCC3Dn").TokenIds.ToArray());
    }

    [Fact]
    public void Too_long_input_without_truncation_is_refused_with_the_es_text()
    {
        var plain = TestVocabularies.Tokenizer(withSpecialTokens: false, maxSequenceLength: 5, truncate: Truncation.None);
        var special = TestVocabularies.Tokenizer(maxSequenceLength: 5, truncate: Truncation.None);

        var e = Assert.Throws<TokenizationException>(() => plain.Tokenize(["Elasticsearch fun with Pancake and Godzilla"]));
        Assert.Equal("Input too large. The tokenized input length [8] exceeds the maximum sequence length [5]", e.Message);
        Assert.Equal(5, Assert.Single(plain.Tokenize(["Elasticsearch fun with Pancake"]).Sequences).Length);
        Assert.Throws<TokenizationException>(() => special.Tokenize(["Elasticsearch fun with Pancake"]));
    }

    [Fact]
    public void Truncate_first_keeps_the_start_of_the_text()
    {
        var plain = TestVocabularies.Tokenizer(withSpecialTokens: false, maxSequenceLength: 5);
        var special = TestVocabularies.Tokenizer(maxSequenceLength: 5);

        var row = Assert.Single(plain.Tokenize(["Elasticsearch fun with Pancake and Godzilla"]).Sequences);
        Assert.Equal([0, 1, 3, 18, 17], row.TokenIds.ToArray());
        Assert.True(row.Truncated);

        row = Assert.Single(special.Tokenize(["Elasticsearch fun with Pancake and Godzilla"]).Sequences);
        Assert.Equal([12, 0, 1, 3, 13], row.TokenIds.ToArray());
        Assert.Equal([-1, 0, 0, 1, -1], row.WordPositions.ToArray());
        Assert.False(Assert.Single(special.Tokenize(["Elasticsearch fun"]).Sequences).Truncated);
    }

    [Fact]
    public void Windows_end_on_word_boundaries_with_span_zero()
    {
        var tokenizer = TestVocabularies.Tokenizer(maxSequenceLength: 5, truncate: Truncation.None, span: 0);

        var rows = tokenizer.Tokenize(["Pancake day fun with Elasticsearch and Godzilla"]).Sequences;
        Assert.Equal(3, rows.Count);
        Assert.Equal([12, 17, 16, 3, 13], rows[0].TokenIds.ToArray());
        Assert.Equal([-1, 0, 1, 2, -1], rows[0].WordPositions.ToArray());
        Assert.Equal([12, 18, 0, 1, 13], rows[1].TokenIds.ToArray());
        Assert.Equal([-1, 3, 4, 4, -1], rows[1].WordPositions.ToArray());
        Assert.Equal([12, 15, 8, 9, 13], rows[2].TokenIds.ToArray());
        Assert.Equal([-1, 5, 6, 6, -1], rows[2].WordPositions.ToArray());
        Assert.All(rows, r => Assert.Equal(0, r.SequenceId));

        rows = tokenizer.Tokenize(["Godzilla Elasticsearch day with Pancake and my little red car."]).Sequences;
        Assert.Equal(5, rows.Count);
        Assert.Equal([12, 8, 9, 13], rows[0].TokenIds.ToArray());
        Assert.Equal([12, 0, 1, 16, 13], rows[1].TokenIds.ToArray());
        Assert.Equal([12, 18, 17, 15, 13], rows[2].TokenIds.ToArray());
        Assert.Equal([12, 4, 5, 6, 13], rows[3].TokenIds.ToArray());
        Assert.Equal([12, 7, 10, 13], rows[4].TokenIds.ToArray());
        Assert.Equal([-1, 9, 10, -1], rows[4].WordPositions.ToArray());
    }

    [Fact]
    public void Windows_overlap_by_the_span()
    {
        var special = TestVocabularies.Tokenizer(maxSequenceLength: 5, truncate: Truncation.None, span: 1);
        var rows = special.Tokenize(["Godzilla Elasticsearch day with Pancake and my little red car."]).Sequences;
        Assert.Equal(7, rows.Count);
        Assert.Equal([12, 8, 9, 13], rows[0].TokenIds.ToArray());
        Assert.Equal([12, 9, 0, 1, 13], rows[1].TokenIds.ToArray());
        Assert.Equal([-1, 0, 1, 1, -1], rows[1].WordPositions.ToArray());

        var plain = TestVocabularies.Tokenizer(withSpecialTokens: false, maxSequenceLength: 5, truncate: Truncation.None, span: 1);
        rows = plain.Tokenize(["Godzilla Elasticsearch day with Pancake and my little red car."]).Sequences;
        Assert.Equal(3, rows.Count);
        Assert.Equal([8, 9, 0, 1, 16], rows[0].TokenIds.ToArray());
        Assert.Equal([16, 18, 17, 15, 4], rows[1].TokenIds.ToArray());
        Assert.Equal(1, rows[1].SpanPrev);
        Assert.Equal([4, 5, 6, 7, 10], rows[2].TokenIds.ToArray());
        Assert.Equal([6, 7, 8, 9, 10], rows[2].WordPositions.ToArray());
    }

    [Fact]
    public void Batch_is_padded_to_the_longest_row_with_a_zero_attention_mask()
    {
        var tokenizer = TestVocabularies.Tokenizer();

        var batch = tokenizer.Tokenize(["Elasticsearch", "my little red car"]);

        Assert.Equal([2L, 6L], batch.Shape);
        Assert.Equal([12L, 0, 1, 13, 19, 19, 12, 4, 5, 6, 7, 13], batch.InputIds);
        Assert.Equal([1L, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1], batch.AttentionMask);
        Assert.Equal(new long[12], batch.TokenTypeIds);
        Assert.Equal([0L, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5], batch.PositionIds);
        Assert.Equal([0, 1], batch.Sequences.Select(s => s.SequenceId));

        var wider = batch.PadTo(8);
        Assert.Equal([2L, 8L], wider.Shape);
        Assert.Equal([12L, 0, 1, 13, 19, 19, 19, 19], wider.InputIds[..8]);
    }

    [Fact]
    public void Pairs_are_joined_by_separators_and_truncate_the_chosen_side()
    {
        var tokenizer = TestVocabularies.Tokenizer(maxSequenceLength: 10);
        string[] first = ["Elasticsearch is fun"], second = ["Godzilla my little red car"];

        var whole = Assert.Single(TestVocabularies.Tokenizer().TokenizePairs(first, second, Truncation.None).Sequences);
        Assert.Equal([12, 0, 1, 2, 3, 13, 8, 9, 4, 5, 6, 7, 13], whole.TokenIds.ToArray());

        var cutFirst = Assert.Single(tokenizer.TokenizePairs(first, second, Truncation.First).Sequences);
        Assert.Equal(["[CLS]", "Elastic", "[SEP]", "God", "##zilla", "my", "little", "red", "car", "[SEP]"], cutFirst.Tokens);

        var cutSecond = Assert.Single(tokenizer.TokenizePairs(first, second, Truncation.Second).Sequences);
        Assert.Equal(["[CLS]", "Elastic", "##search", "is", "fun", "[SEP]", "God", "##zilla", "my", "[SEP]"], cutSecond.Tokens);

        Assert.Throws<TokenizationException>(() => TestVocabularies.Tokenizer(maxSequenceLength: 8).TokenizePairs(first, second, Truncation.None));
        Assert.Throws<ArgumentException>(() => TestVocabularies.Tokenizer(withSpecialTokens: false).TokenizePairs(first, second, Truncation.None));
    }

    [Fact]
    public void Word_with_an_uncoverable_rest_is_one_unknown_token()
    {
        var row = Single(TestVocabularies.Tokenizer(withSpecialTokens: false), "Elasticsearchfoo fun");

        Assert.Equal(["[UNK]", "fun"], row.Tokens);
        Assert.Equal([0, 1], row.WordPositions.ToArray());
    }

    [Fact]
    public void Word_longer_than_one_hundred_chars_is_unknown()
    {
        var tokenizer = new BertTokenizer(["a", "##a", "[UNK]", "[PAD]"], new BertTokenizerOptions { WithSpecialTokens = false });

        Assert.Equal([0, 1, 1], Single(tokenizer, "aaa").TokenIds.ToArray());
        Assert.Equal(Enumerable.Repeat(1, 99).Prepend(0), Single(tokenizer, new string('a', 100)).TokenIds.ToArray());
        Assert.Equal([2], Single(tokenizer, new string('a', 101)).TokenIds.ToArray());
    }

    [Fact]
    public void Offsets_point_at_the_whole_word_in_the_original_text()
    {
        var row = Single(TestVocabularies.Tokenizer(), "Elasticsearch, fun.");

        Assert.Equal([-1, 0, 0, 13, 15, 18, -1], row.StartOffsets.ToArray());
        Assert.Equal([-1, 13, 13, 14, 18, 19, -1], row.EndOffsets.ToArray());
    }

    [Fact]
    public void Control_and_format_characters_vanish_and_join_their_neighbours()
    {
        var row = Single(TestVocabularies.Tokenizer(withSpecialTokens: false), "\u0001Elastic\u200Bsearch fun\u0000");

        Assert.Equal(["Elastic", "##search", "fun"], row.Tokens);
        Assert.Equal([1, 1, 16], row.StartOffsets.ToArray());
        Assert.Equal([15, 15, 19], row.EndOffsets.ToArray());
    }

    [Fact]
    public void Cjk_ideographs_are_words_of_their_own()
    {
        var tokenizer = new BertTokenizer(["\u4E2D", "\u6587", "ok", "[UNK]", "[PAD]"], new BertTokenizerOptions { WithSpecialTokens = false });

        var row = Single(tokenizer, "ok\u4E2D\u6587ok");

        Assert.Equal([2, 0, 1, 2], row.TokenIds.ToArray());
        Assert.Equal([0, 1, 2, 3], row.WordPositions.ToArray());
    }

    [Fact]
    public void Vocabulary_without_a_required_special_token_is_refused_by_name()
    {
        var noUnknown = Assert.Throws<MissingSpecialTokenException>(() => new BertTokenizer(["a", "[PAD]", "[CLS]", "[SEP]"]));
        Assert.Equal("stored vocabulary is missing required [[UNK]] token", noUnknown.Message);

        var noPad = Assert.Throws<MissingSpecialTokenException>(() => new BertTokenizer(["a", "[UNK]", "[CLS]", "[SEP]"]));
        Assert.Equal(["[PAD]"], noPad.Tokens);

        var noClassOrSeparator = Assert.Throws<MissingSpecialTokenException>(() => new BertTokenizer(["a", "[UNK]", "[PAD]"]));
        Assert.Equal("stored vocabulary is missing required [[SEP], [CLS]] token(s)", noClassOrSeparator.Message);

        // Without special tokens only [UNK] and [PAD] are needed.
        _ = new BertTokenizer(["a", "[UNK]", "[PAD]"], new BertTokenizerOptions { WithSpecialTokens = false });
    }

    [Theory]
    [InlineData(0, Truncation.First, -1, "[max_sequence_length] must be positive")]
    [InlineData(10, Truncation.None, -2, "[span] must be non-negative to indicate span length or [-1] to indicate no windowing should occur")]
    [InlineData(10, Truncation.None, 11, "[span] provided [11] must not be greater than [max_sequence_length] provided [10]")]
    [InlineData(10, Truncation.First, 2, "[span] must not be provided when [truncate] is [first]")]
    public void Invalid_settings_are_refused_with_the_es_text(int maxSequenceLength, Truncation truncate, int span, string message)
    {
        var options = new BertTokenizerOptions { MaxSequenceLength = maxSequenceLength, Truncate = truncate, Span = span };

        var e = Assert.Throws<ArgumentException>(() => new BertTokenizer(TestVocabularies.Cased, options));

        Assert.Equal(message, e.Message);
    }
}
