using TrainedModelsOrleans.Inference.Text;

namespace TrainedModelsOrleans.Nlp.Tests;

/// <summary>
/// Where Elasticsearch's tokenizers differ from Microsoft.ML.Tokenizers (and from Hugging Face), each rule ES
/// follows and we follow on top of the library: word positions and offsets, never-split tokens, Java's character
/// classes, unknown fusion, vocabulary duplicates, decoding for fill_mask.
/// </summary>
public class TokenizerElasticsearchRulesTests
{
    private static NlpTokenizer Tokenizer(string type) => TokenizerFixtures.Type(type).Tokenizer(withSpecialTokens: false);

    private static TokenizedSequence Row(NlpTokenizer tokenizer, string text) =>
        Assert.Single(tokenizer.Tokenize([text], Truncation.None, -1).Sequences);

    [Fact]
    public void Roberta_pieces_of_one_pre_token_share_its_word_and_offsets_and_only_the_first_leaves_out_the_space()
    {
        var row = Row(Tokenizer("roberta"), "a distributed fun.");

        Assert.Equal(["a", "Ġd", "is", "t", "ri", "b", "ut", "ed", "Ġfun", "."], row.Tokens);
        Assert.Equal([0, 1, 1, 1, 1, 1, 1, 1, 2, 3], row.WordPositions.ToArray());
        Assert.Equal([0, 2, 1, 1, 1, 1, 1, 1, 14, 17], row.StartOffsets.ToArray());
        Assert.Equal([1, 13, 13, 13, 13, 13, 13, 13, 17, 18], row.EndOffsets.ToArray());
    }

    [Fact]
    public void Roberta_mask_is_cut_out_first_and_takes_the_space_before_it()
    {
        var tokenizer = Tokenizer("roberta");

        Assert.Equal(["Elasticsearch", "<mask>", "Ġfun"], Row(tokenizer, "Elasticsearch <mask> fun").Tokens);
        // After a never-split token the text starts again: "fun" with no space is not "Ġfun".
        Assert.Equal(["Ġfun", "<mask>", "f", "un"], Row(tokenizer, " fun<mask>fun").Tokens);
        Assert.Equal([0, 1, 2], Row(tokenizer, "Elasticsearch <mask> fun").WordPositions.ToArray());
    }

    [Fact]
    public void Roberta_strips_trailing_whitespace_of_text_segments_by_elasticsearchs_count_of_segments()
    {
        var tokenizer = Tokenizer("roberta");

        // Three segments, "a ", "<mask>", " fun ": both text segments lose their trailing space.
        Assert.Equal(["a", "<mask>", "Ġfun"], Row(tokenizer, "a <mask> fun ").Tokens);
        // Two segments, "<mask>", " fun ": ES's test (1 never-split seen < 2 - 1) fails, so the last space stays a token.
        Assert.Equal(["<mask>", "Ġfun", "Ġ"], Row(tokenizer, "<mask> fun ").Tokens);
        // A partial match restarts the trie walk at the char that broke it, so "<<mask>" still holds the mask.
        Assert.Contains("<mask>", Row(tokenizer, "<<mask>").Tokens);
    }

    [Fact]
    public void Roberta_splits_with_javas_whitespace_class_where_a_no_break_space_is_a_symbol()
    {
        // Java's \s is ASCII: "!" and the no-break space are one symbol run. With Unicode \s (.NET, HF) they are two.
        var row = Row(Tokenizer("roberta"), "fun!\u00A0");

        Assert.Equal(["f", "un", "!", "Â", "ł"], row.Tokens);
        Assert.Equal([0, 0, 1, 1, 1], row.WordPositions.ToArray());
    }

    [Fact]
    public void Roberta_merges_a_pair_whose_concatenation_any_merge_makes_as_es_ranks_by_concatenation()
    {
        // "a b" then "b c" then "a bc": the word "abc" becomes [ab, c] after the first merge. The library alone stops
        // there (no merge "ab c"); ES looks up "abc", which "a bc" makes, and merges it.
        string[] vocabulary = ["<s>", "<pad>", "</s>", "<unk>", "a", "b", "c", "ab", "bc", "abc"];
        var tokenizer = NlpTokenizer.Create("roberta", vocabulary, ["a b", "b c", "a bc"], [], new BertTokenizerOptions { WithSpecialTokens = false });

        Assert.Equal(["abc"], Row(tokenizer, "abc").Tokens);
        Assert.Equal(["a b", "b c", "a bc", "ab c"], RobertaTokenizer.EsMerges(["a b", "b c", "a bc"]));
        // A later merge of the same string moves the earlier one to its rank: "a bc" (2) outranks "b c" (1) after it.
        Assert.Equal(["b c", "x y", "a bc", "ab c"], RobertaTokenizer.EsMerges(["a bc", "b c", "x y", "ab c"]));
    }

    [Fact]
    public void Roberta_treats_a_letter_outside_the_basic_plane_as_a_letter_as_javas_regex_does()
    {
        // U+20000 (CJK Extension B) is a letter: "a\U00020000b" is one pre-token, " 1\U0001D7CE" (a mathematical digit) one number run.
        var row = Row(Tokenizer("roberta"), "a\U00020000b 1\U0001D7CE");

        Assert.Equal(2, row.WordPositions.ToArray().Distinct().Count());
    }

    [Fact]
    public void Roberta_decodes_byte_level_entries_to_text_for_fill_mask()
    {
        var tokenizer = Tokenizer("roberta");

        Assert.Equal("fun", tokenizer.Decode("Ġfun"));
        Assert.Equal("café", tokenizer.Decode("ĠcafÃ©"));
    }

    [Fact]
    public void Unigram_pieces_are_words_of_their_own_with_offsets_that_leave_out_the_word_start_mark()
    {
        var row = Row(Tokenizer("xlm_roberta"), "Elasticsearch is fun.");

        Assert.Equal(["▁Elastic", "search", "▁is", "▁fun", "."], row.Tokens);
        Assert.Equal([0, 1, 2, 3, 4], row.WordPositions.ToArray());
        Assert.Equal([0, 7, 14, 17, 20], row.StartOffsets.ToArray());
        Assert.Equal([7, 13, 16, 20, 21], row.EndOffsets.ToArray());
    }

    [Fact]
    public void Unigram_fuses_a_run_of_unknown_characters_into_one_unknown_token_without_byte_fallback()
    {
        var xlm = Row(Tokenizer("xlm_roberta"), "xyzzy");
        var deberta = Row(Tokenizer("deberta_v2"), "xyzzy");

        Assert.Equal(["▁", "x", "y", "<unk>", "y"], xlm.Tokens);
        Assert.Equal(2, xlm.StartOffsets[3]); // "zz" in "xyzzy"
        Assert.Equal(4, xlm.EndOffsets[3]);
        Assert.Equal(["▁", "x", "y", "<0x7A>", "<0x7A>", "y"], deberta.Tokens);
    }

    [Fact]
    public void Unigram_never_split_tokens_are_cut_out_of_words_and_the_rest_starts_a_new_word()
    {
        Assert.Equal(["▁fun", "<mask>", "▁fun"], Row(Tokenizer("xlm_roberta"), "fun<mask>fun").Tokens);
        Assert.Equal(["[SEP]", "▁fun", "[MASK]"], Row(Tokenizer("deberta_v2"), "[SEP]fun [MASK]").Tokens);
        // xlm_roberta never splits only <mask>.
        Assert.DoesNotContain("</s>", Row(Tokenizer("xlm_roberta"), "fun</s>").Tokens);
    }

    [Fact]
    public void Unigram_normalizes_each_word_with_nfkc_and_maps_its_pieces_to_the_whole_word()
    {
        var tokenizer = Tokenizer("xlm_roberta");
        var wide = Row(tokenizer, "\uFF46\uFF55\uFF4E is");

        Assert.Equal(Row(tokenizer, "fun is").TokenIds.ToArray(), wide.TokenIds.ToArray());
        Assert.Equal([0, 4], wide.StartOffsets.ToArray());
        Assert.Equal([3, 6], wide.EndOffsets.ToArray());
    }

    [Fact]
    public void Unigram_takes_the_last_of_duplicate_entries()
    {
        string[] vocabulary = ["<s>", "<pad>", "</s>", "<unk>", "\u2581fun", "\u2581fun"];
        var tokenizer = NlpTokenizer.Create("xlm_roberta", vocabulary, [], [0, 0, 0, 0, -1, -2], new BertTokenizerOptions { WithSpecialTokens = false });

        Assert.Equal([5], Row(tokenizer, "fun").TokenIds.ToArray());
    }

    [Fact]
    public void Every_type_tokenizes_the_same_from_many_threads_at_once()
    {
        foreach (var type in TokenizerFixtures.TypeNames)
        {
            var reference = TokenizerFixtures.Type(type);
            var tokenizer = reference.Tokenizer();
            var texts = reference.Singles.Select(s => s.Text).ToArray();
            var expected = texts.Select(t => Row(tokenizer, t).TokenIds.ToArray()).ToArray();
            Parallel.For(0, 2_000, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
                Assert.Equal(expected[i % texts.Length], Row(tokenizer, texts[i % texts.Length]).TokenIds.ToArray()));
        }
    }

    [Fact]
    public void Unigram_decodes_as_elasticsearch_does_for_fill_mask()
    {
        Assert.Equal("fun", Tokenizer("xlm_roberta").Decode("▁fun"));
        Assert.Equal("▁fun", Tokenizer("deberta_v2").Decode("▁fun"));
    }

    [Fact]
    public void Wordpiece_keeps_a_word_with_a_no_break_space_whole_as_javas_whitespace_class_does()
    {
        var tokenizer = Tokenizer("bert_cased");

        Assert.Equal(["[UNK]"], Row(tokenizer, "no\u00A0break").Tokens);
        Assert.Equal(["no", "b", "##r", "##e", "##a", "##k"], Row(tokenizer, "no break").Tokens);
    }

    [Fact]
    public void Wordpiece_drops_characters_outside_the_basic_plane_as_javas_control_filter_does()
    {
        Assert.Equal(["o", "##k"], Row(Tokenizer("bert_cased"), "ok\U0001F44D").Tokens);
    }

    [Fact]
    public void Wordpiece_takes_the_last_of_duplicate_entries_and_skips_entries_the_library_could_not_read()
    {
        var options = new BertTokenizerOptions { WithSpecialTokens = false };
        Assert.Equal([3], Row(new BertTokenizer(["[UNK]", "[PAD]", "fun", "fun"], options), "fun").TokenIds.ToArray());
        Assert.Equal([3, 4], Row(new BertTokenizer(["[UNK]", "[PAD]", " ", "fun", "##s"], options), "funs").TokenIds.ToArray());
        // Lower-casing folds the vocabulary too, so "Fun" and "fun" are one entry: the later.
        Assert.Equal([3], Row(new BertTokenizer(["[UNK]", "[PAD]", "Fun", "fun"], options with { DoLowerCase = true }), "FUN").TokenIds.ToArray());
        Assert.Equal([2], Row(new BertTokenizer(["[UNK]", "[PAD]", "Fun"], options with { DoLowerCase = true }), "fun").TokenIds.ToArray());
    }
}
