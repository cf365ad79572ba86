using System.Text.Json.Serialization;

namespace TrainedModelsOrleans.PublishedModels;

/// <summary>reference/minilm.reference.json: what ONNX Runtime for Node.js and Hugging Face tokenizers say about MiniLM.</summary>
public sealed record MiniLmReference(MiniLmReferenceModel Model, IReadOnlyList<MiniLmReferenceSentence> Sentences);

/// <summary>The files the reference was computed from.</summary>
public sealed record MiniLmReferenceModel(
    string Sha256,
    [property: JsonPropertyName("vocabulary_sha256")] string VocabularySha256,
    string Output);

/// <summary>
/// One sentence run alone (batch 1): its tokens and ids as Hugging Face tokenizers' BERT uncased pipeline
/// gives them; the output's first row (the [CLS] token's hidden state: what Elasticsearch's text_embedding
/// returns for a [batch, sequence, hidden] output); and sentence-transformers' embedding (mean over the
/// tokens, L2-normalised).
/// </summary>
public sealed record MiniLmReferenceSentence(
    string Text,
    IReadOnlyList<string> Tokens,
    [property: JsonPropertyName("token_ids")] int[] TokenIds,
    [property: JsonPropertyName("output_shape")] long[] OutputShape,
    [property: JsonPropertyName("first_token")] float[] FirstToken,
    [property: JsonPropertyName("mean_pooled_normalized")] float[] MeanPooledNormalized);
