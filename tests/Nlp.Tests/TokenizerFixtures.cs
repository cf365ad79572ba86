using System.Text.Json;
using TrainedModelsOrleans.Inference.Text;

namespace TrainedModelsOrleans.Nlp.Tests;

/// <summary>
/// The vocabularies and reference ids under Fixtures/tokenizers: trained from corpus.txt by train.py, the ids
/// computed by Hugging Face tokenizers (generate.mjs). Each reference type names its tokenization and options.
/// </summary>
internal static class TokenizerFixtures
{
    private static readonly string Directory = Path.Combine(AppContext.BaseDirectory, "Fixtures", "tokenizers");

    private static readonly Lazy<JsonElement> References = new(() => Read("references.json"));

    public static IEnumerable<string> TypeNames => References.Value.EnumerateObject().Select(p => p.Name);

    public static ReferenceType Type(string name) => new(name, References.Value.GetProperty(name));

    public static JsonElement Read(string file) => JsonDocument.Parse(File.ReadAllText(Path.Combine(Directory, file))).RootElement;

    public sealed class ReferenceType(string name, JsonElement json)
    {
        public string Name { get; } = name;

        public string Tokenization => json.GetProperty("tokenization").GetString()!;

        public IEnumerable<(string Text, int[] Ids, int[] WithoutSpecialTokens)> Singles =>
            json.GetProperty("singles").EnumerateArray().Select(s =>
                (s.GetProperty("text").GetString()!, Ints(s.GetProperty("ids")), Ints(s.GetProperty("without_special_tokens"))));

        public IEnumerable<(string First, string Second, int[] Ids)> Pairs =>
            json.GetProperty("pairs").EnumerateArray().Select(s =>
                (s.GetProperty("first").GetString()!, s.GetProperty("second").GetString()!, Ints(s.GetProperty("ids"))));

        public NlpTokenizer Tokenizer(bool withSpecialTokens = true, int maxSequenceLength = 512, Truncation truncate = Truncation.First, int span = -1)
        {
            var upload = Read(json.GetProperty("vocabulary").GetString()!);
            var options = new BertTokenizerOptions
            {
                DoLowerCase = json.TryGetProperty("do_lower_case", out var lower) && lower.GetBoolean(),
                AddPrefixSpace = json.TryGetProperty("add_prefix_space", out var prefix) && prefix.GetBoolean(),
                WithSpecialTokens = withSpecialTokens,
                MaxSequenceLength = maxSequenceLength,
                Truncate = truncate,
                Span = span,
            };
            return NlpTokenizer.Create(Tokenization, Strings(upload, "vocabulary"), Strings(upload, "merges"), Doubles(upload, "scores"), options);
        }

        public override string ToString() => Name;
    }

    private static int[] Ints(JsonElement array) => array.EnumerateArray().Select(e => e.GetInt32()).ToArray();

    private static string[] Strings(JsonElement upload, string field) =>
        upload.TryGetProperty(field, out var a) ? a.EnumerateArray().Select(e => e.GetString()!).ToArray() : [];

    private static double[] Doubles(JsonElement upload, string field) =>
        upload.TryGetProperty(field, out var a) ? a.EnumerateArray().Select(e => e.GetDouble()).ToArray() : [];
}
