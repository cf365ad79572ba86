using TrainedModelsOrleans.Inference.Text;

namespace TrainedModelsOrleans.Nlp.Tests;

/// <summary>
/// Every tokenization type against ids computed independently (Hugging Face tokenizers, Fixtures/tokenizers/generate.mjs)
/// on vocabularies trained from a small corpus: accents, CJK, Cyrillic, Hangul, punctuation, contractions, numbers,
/// unknown words, empty and blank strings, the mask token, pairs; then truncation each way and windowing of long input.
/// </summary>
public class TokenizerReferenceTests
{
    public static TheoryData<string> Types => [.. TokenizerFixtures.TypeNames];

    [Theory, MemberData(nameof(Types))]
    public void Single_texts_match_the_reference_ids(string type)
    {
        var reference = TokenizerFixtures.Type(type);
        var tokenizer = reference.Tokenizer();
        var bare = reference.Tokenizer(withSpecialTokens: false);

        foreach (var (text, ids, withoutSpecialTokens) in reference.Singles)
        {
            Assert.True(ids.SequenceEqual(Ids(tokenizer, text)), $"{type} [{text}]: expected {Show(tokenizer, ids)}, got {Show(tokenizer, Ids(tokenizer, text))}");
            Assert.True(withoutSpecialTokens.SequenceEqual(Ids(bare, text)), $"{type} without special tokens [{text}]");
        }
    }

    [Theory, MemberData(nameof(Types))]
    public void Pairs_match_the_reference_ids(string type)
    {
        var reference = TokenizerFixtures.Type(type);
        var tokenizer = reference.Tokenizer();

        foreach (var (first, second, ids) in reference.Pairs)
        {
            if (reference.Tokenization == "deberta_v2" && (first.Length == 0 || second.Length == 0))
            {
                // ES's DebertaTokenizationResult refuses a side with no tokens.
                var e = Assert.Throws<ArgumentException>(() => tokenizer.TokenizePairs([first], [second], Truncation.None));
                Assert.Equal("Both sequences must have at least one token", e.Message);
                continue;
            }
            var row = Assert.Single(tokenizer.TokenizePairs([first], [second], Truncation.None).Sequences);
            Assert.True(ids.SequenceEqual(row.TokenIds.ToArray()), $"{type} [{first}] [{second}]: expected {Show(tokenizer, ids)}, got {Show(tokenizer, row.TokenIds.ToArray())}");
        }
    }

    [Theory, MemberData(nameof(Types))]
    public void Long_input_is_cut_to_the_maximum_with_special_tokens_kept(string type)
    {
        var reference = TokenizerFixtures.Type(type);
        var (text, ids, pieces) = reference.Singles.Last();
        var tokenizer = reference.Tokenizer(maxSequenceLength: 10);

        foreach (var truncate in new[] { Truncation.First, Truncation.Second, Truncation.Balanced })
        {
            var row = Assert.Single(tokenizer.Tokenize([text], truncate, -1).Sequences);
            Assert.True(row.Truncated);
            Assert.Equal([ids[0], .. pieces[..8], ids[^1]], row.TokenIds.ToArray());
        }
        var refused = Assert.Throws<TokenizationException>(() => tokenizer.Tokenize([text], Truncation.None, -1));
        Assert.Equal($"Input too large. The tokenized input length [{ids.Length}] exceeds the maximum sequence length [10]", refused.Message);
    }

    [Theory, MemberData(nameof(Types))]
    public void Pairs_are_cut_on_the_side_truncate_names(string type)
    {
        var reference = TokenizerFixtures.Type(type);
        var (text, _, pieces) = reference.Singles.Last();
        var tokenizer = reference.Tokenizer(maxSequenceLength: 20);
        var question = reference.Singles.First();
        var q = question.WithoutSpecialTokens;
        var full = Assert.Single(reference.Tokenizer().TokenizePairs([question.Text], [text], Truncation.None).Sequences).TokenIds.ToArray();
        var separators = full.Length - q.Length - pieces.Length - 2;
        var room = 20 - 2 - separators;

        // second: the question stays whole, the context gives way.
        var second = Assert.Single(tokenizer.TokenizePairs([question.Text], [text], Truncation.Second).Sequences).TokenIds.ToArray();
        Assert.Equal([.. full[..(1 + q.Length + separators)], .. pieces[..(room - q.Length)], full[^1]], second);

        // first: the context must fit whole; it does not, so ES's message.
        var first = Assert.Throws<TokenizationException>(() => tokenizer.TokenizePairs([question.Text], [text], Truncation.First));
        Assert.Equal(
            $"Attempting truncation [first] but input is too large for the second sequence. The tokenized input length [{pieces.Length}] " +
            $"exceeds the maximum sequence length [{room}], when taking special tokens into account", first.Message);

        // balanced: the question keeps min(its length, half the room), the context the rest.
        var balanced = Assert.Single(tokenizer.TokenizePairs([text], [text], Truncation.Balanced).Sequences).TokenIds.ToArray();
        var half = room / 2;
        Assert.Equal([full[0], .. pieces[..half], .. full[(1 + q.Length)..(1 + q.Length + separators)], .. pieces[..(room - half)], full[^1]], balanced);
        Assert.Throws<TokenizationException>(() => tokenizer.TokenizePairs([text], [text], Truncation.None));
    }

    [Theory, MemberData(nameof(Types))]
    public void Windows_over_long_input_cover_every_piece_and_overlap_by_the_span(string type)
    {
        var reference = TokenizerFixtures.Type(type);
        var (text, ids, pieces) = reference.Singles.Last();
        var tokenizer = reference.Tokenizer(maxSequenceLength: 16, truncate: Truncation.None, span: 4);

        var windows = tokenizer.Tokenize([text]).Sequences;

        Assert.True(windows.Count > 3);
        var covered = new List<int>();
        foreach (var window in windows)
        {
            var row = window.TokenIds.ToArray();
            Assert.True(row.Length <= 16);
            Assert.Equal(ids[0], row[0]);
            Assert.Equal(ids[^1], row[^1]);
            var body = row[1..^1];
            var overlap = window.SpanPrev < 0 ? 0 : window.SpanPrev;
            Assert.Equal(covered.TakeLast(overlap), body.Take(overlap));
            covered.AddRange(body.Skip(overlap));
            Assert.All(windows, w => Assert.Equal(0, w.SequenceId));
        }
        Assert.Equal(pieces, covered);
    }

    [Theory, MemberData(nameof(Types))]
    public void Pair_windows_hold_the_whole_first_text_and_a_slice_of_the_second_with_its_own_offsets(string type)
    {
        var reference = TokenizerFixtures.Type(type);
        var tokenizer = reference.Tokenizer(maxSequenceLength: 24, truncate: Truncation.None);
        var question = reference.Singles.First();
        var (text, _, pieces) = reference.Singles.Last();
        var words = tokenizer.TokenizeWords(text);
        var separators = tokenizer.Options.SpecialTokens.SeparatorsBetweenPair;
        var expected = NlpTokenizer.PairWindows(words.WordPositions, question.WithoutSpecialTokens.Length, 2 + separators, 24, span: 4);

        var rows = tokenizer.TokenizePairs(question.Text, [text], Truncation.None, span: 4).Sequences;

        Assert.True(rows.Count > 2);
        Assert.Equal(expected.Count, rows.Count);
        var secondStart = 1 + question.WithoutSpecialTokens.Length + separators;
        for (var r = 0; r < rows.Count; r++)
        {
            var (from, to) = expected[r];
            var ids = rows[r].TokenIds.ToArray();
            Assert.Equal(0, rows[r].SequenceId);
            Assert.Equal(question.WithoutSpecialTokens, ids[1..(1 + question.WithoutSpecialTokens.Length)]);
            Assert.Equal(pieces[from..to], ids[secondStart..^1]);
            Assert.Equal(words.StartOffsets[from..to], rows[r].StartOffsets[secondStart..^1].ToArray());
        }
        Assert.Equal(pieces.Length, expected[^1].To);
    }

    [Theory, MemberData(nameof(Types))]
    public void Missing_special_tokens_are_refused_with_elasticsearchs_text(string type)
    {
        var reference = TokenizerFixtures.Type(type);
        var tokenizer = reference.Tokenizer();
        var unknown = tokenizer.Options.SpecialTokens.Unknown;
        var vocabulary = tokenizer.Vocabulary.Select(t => t == unknown ? "gone" : t).ToArray();
        var scores = Enumerable.Repeat(-1.0, vocabulary.Length).ToArray();

        var e = Assert.Throws<MissingSpecialTokenException>(() => NlpTokenizer.Create(reference.Tokenization, vocabulary, ["a b"], scores, new BertTokenizerOptions()));

        Assert.Equal($"stored vocabulary is missing required [{unknown}] token", e.Message);
    }

    private static int[] Ids(NlpTokenizer tokenizer, string text) => Assert.Single(tokenizer.Tokenize([text], Truncation.None, -1).Sequences).TokenIds.ToArray();

    private static string Show(NlpTokenizer tokenizer, int[] ids) => "[" + string.Join(", ", ids.Select(i => tokenizer.Vocabulary[i])) + "]";
}
