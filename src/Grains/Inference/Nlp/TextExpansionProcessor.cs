using System.Text.Json.Nodes;

namespace TrainedModelsOrleans.Grains.Inference.Nlp;

/// <summary>
/// ES's TextExpansionProcessor (ELSER): the model gives a weight per vocabulary entry — one row, or one
/// row per token, reduced to the largest weight of each entry (max pooling). Entries weighing more than 0
/// are kept, heaviest first, as <c>{"token": weight}</c> (TextExpansionResults); a '.' in a token is
/// written "__" so the token can be a field name. The model itself applies ELSER's log(1 + ReLU).
/// </summary>
internal sealed class TextExpansionProcessor : INlpResultProcessor
{
    private readonly IReadOnlyList<string> vocabulary;
    private readonly Dictionary<int, string> replacements;
    private readonly string resultsField;

    public TextExpansionProcessor(IReadOnlyList<string> vocabulary, string resultsField)
    {
        this.vocabulary = vocabulary;
        this.resultsField = resultsField;
        replacements = SanitizedVocabulary(vocabulary);
    }

    public void ValidateInputs(IReadOnlyList<string> inputs)
    {
    }

    public JsonObject Process(NlpDocument document)
    {
        var inference = document.Inference;
        var rows = new double[inference.RowsPerWindow][];
        for (var r = 0; r < rows.Length; r++) rows[r] = inference.Row(0, r);
        var tokens = new JsonObject();
        foreach (var (id, weight) in Weights(rows)) tokens[TokenFor(id)] = weight;
        return document.Finish(new JsonObject { [resultsField] = tokens });
    }

    /// <summary>
    /// The kept (token id, weight) pairs, heaviest first (equal weights in id order): the first window's
    /// rows reduced by max to one, then every weight above 0, as a float.
    /// </summary>
    internal static List<(int Id, float Weight)> Weights(IReadOnlyList<double[]> rows)
    {
        var pooled = (double[])rows[0].Clone();
        for (var r = 1; r < rows.Count; r++)
        {
            var row = rows[r];
            for (var t = 0; t < pooled.Length && t < row.Length; t++)
            {
                if (row[t] > pooled[t]) pooled[t] = row[t];
            }
        }
        var kept = new List<(int Id, float Weight)>();
        for (var t = 0; t < pooled.Length; t++)
        {
            if (pooled[t] > 0.0) kept.Add((t, (float)pooled[t]));
        }
        // Java's List.sort is stable: Float.compare(t2.weight, t1.weight).
        return [.. kept.OrderByDescending(k => k.Weight)];
    }

    /// <summary>ES's buildSanitizedVocabMap: entries holding '.' with each '.' replaced by "__".</summary>
    internal static Dictionary<int, string> SanitizedVocabulary(IReadOnlyList<string> vocabulary)
    {
        var sanitized = new Dictionary<int, string>();
        for (var i = 0; i < vocabulary.Count; i++)
        {
            if (vocabulary[i].Contains('.', StringComparison.Ordinal)) sanitized[i] = vocabulary[i].Replace(".", "__", StringComparison.Ordinal);
        }
        return sanitized;
    }

    // ES's tokenForId: an id past the vocabulary would fail there too, with an index error.
    private string TokenFor(int id) => replacements.TryGetValue(id, out var token) ? token
        : id < vocabulary.Count ? vocabulary[id]
        : throw Models.Parsing.EsErrors.Status(500, $"token id [{id}] of the text_expansion result is not in the vocabulary of [{vocabulary.Count}] entries");
}
