using System.Diagnostics;
using System.Text.Json;
using TrainedModelsOrleans.Inference.Text;

namespace TrainedModelsOrleans.Bench;

/// <summary>
/// Tokenization cost per document for every tokenization type, over the vocabularies the tokenizer tests use
/// (tests/Nlp.Tests/Fixtures/tokenizers, trained from a small multilingual corpus): documents cut from that corpus
/// to 16 and 128 tokens (special tokens included: each document is the corpus words until the count is reached,
/// cut to exactly that many by max_sequence_length and truncate first, as ES does), one per call as an _infer of one
/// doc does, on one thread.
/// </summary>
public static class TokenizationBenchmark
{
    private static readonly (string Name, string Tokenization, string File, bool LowerCase)[] Types =
    [
        ("bert (WordPiece)", "bert", "wordpiece-uncased.json", true),
        ("mpnet (WordPiece)", "mpnet", "mpnet.json", true),
        ("roberta (byte-level BPE)", "roberta", "roberta.json", false),
        ("xlm_roberta (unigram)", "xlm_roberta", "xlm_roberta.json", false),
        ("deberta_v2 (unigram, byte fallback)", "deberta_v2", "deberta_v2.json", false),
    ];

    public static void Run(TextWriter output, TimeSpan duration)
    {
        var folder = Path.Combine(AppContext.BaseDirectory, "tokenizers");
        var words = File.ReadAllText(Path.Combine(folder, "corpus.txt")).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        var table = new ResultTable($"Tokenization, µs per document (one doc per call, 1 thread, {duration.TotalSeconds:0.#} s per cell)")
            .Columns("type", "16 tokens µs/doc", "128 tokens µs/doc", "128-token docs/s");
        foreach (var (name, tokenization, file, lowerCase) in Types)
        {
            var upload = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, file))).RootElement;
            NlpTokenizer Tokenizer(int maxSequenceLength) => NlpTokenizer.Create(tokenization, Strings(upload, "vocabulary"),
                Strings(upload, "merges"), Doubles(upload, "scores"), new BertTokenizerOptions { DoLowerCase = lowerCase, MaxSequenceLength = maxSequenceLength });
            var whole = Tokenizer(512);
            var shortCost = MicrosPerDoc(Tokenizer(16), Documents(whole, words, 16), 16, duration);
            var longCost = MicrosPerDoc(Tokenizer(128), Documents(whole, words, 128), 128, duration);
            table.Row(name, shortCost, longCost, 1_000_000 / longCost);
        }
        table.Print(output);
    }

    // 32 documents of at least `tokens` tokens, each starting at another word of the corpus.
    private static string[] Documents(NlpTokenizer tokenizer, string[] words, int tokens)
    {
        var documents = new string[32];
        for (var d = 0; d < documents.Length; d++)
        {
            var text = words[d * 7 % words.Length];
            for (var w = d * 7 + 1; tokenizer.Tokenize([text], Truncation.None, -1).Sequences[0].Length < tokens; w++)
                text += " " + words[w % words.Length];
            documents[d] = text;
        }
        return documents;
    }

    private static double MicrosPerDoc(NlpTokenizer tokenizer, string[] documents, int tokens, TimeSpan duration)
    {
        string[][] single = [.. documents.Select(d => new[] { d })];
        if (single.Any(d => tokenizer.Tokenize(d, Truncation.First, -1).Sequences[0].Length != tokens))
            throw new InvalidOperationException($"a document is not {tokens} tokens long");
        // Warm up for half a second, long enough for tiered JIT to reach its optimised code (a count of calls was not).
        var warm = Stopwatch.StartNew();
        for (var i = 0; warm.ElapsedMilliseconds < 500; i++) tokenizer.Tokenize(single[i % single.Length], Truncation.First, -1);
        var clock = Stopwatch.StartNew();
        long done = 0;
        while (clock.Elapsed < duration)
        {
            for (var i = 0; i < 256; i++) tokenizer.Tokenize(single[(int)(done + i) % single.Length], Truncation.First, -1);
            done += 256;
        }
        return clock.Elapsed.TotalMicroseconds / done;
    }

    private static string[] Strings(JsonElement upload, string field) =>
        upload.TryGetProperty(field, out var a) ? [.. a.EnumerateArray().Select(e => e.GetString()!)] : [];

    private static double[] Doubles(JsonElement upload, string field) =>
        upload.TryGetProperty(field, out var a) ? [.. a.EnumerateArray().Select(e => e.GetDouble())] : [];
}
