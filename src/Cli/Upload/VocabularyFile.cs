using System.Text.Json.Nodes;

namespace TrainedModelsOrleans.Cli.Upload;

/// <summary>
/// The body of <c>PUT _ml/trained_models/&lt;id&gt;/vocabulary</c> from the files a tokenizer ships: a JSON vocabulary
/// (the whole body, as Eland writes it, or a token array) or a text one (one token a line, as <c>vocab.txt</c>);
/// merges as JSON or <c>merges.txt</c> (its <c>#version</c> line skipped); scores as a JSON array or one number a line.
/// </summary>
public static class VocabularyFile
{
    public static JsonObject Read(string vocabularyPath, string? mergesPath = null, string? scoresPath = null)
    {
        var body = IsJson(vocabularyPath) ? JsonNode.Parse(File.ReadAllText(vocabularyPath)) switch
        {
            JsonObject whole => whole,
            JsonArray tokens => new JsonObject { ["vocabulary"] = tokens },
            _ => throw new FormatException($"{vocabularyPath} holds neither a vocabulary object nor a token array"),
        } : new JsonObject { ["vocabulary"] = Strings(Lines(vocabularyPath)) };

        if (mergesPath is not null)
            body["merges"] = IsJson(mergesPath) ? JsonNode.Parse(File.ReadAllText(mergesPath))
                : Strings(Lines(mergesPath).Where(l => !l.StartsWith("#version", StringComparison.Ordinal)));
        if (scoresPath is not null)
            body["scores"] = IsJson(scoresPath) ? JsonNode.Parse(File.ReadAllText(scoresPath))
                : new JsonArray(Lines(scoresPath).Select(l => (JsonNode?)double.Parse(l, System.Globalization.CultureInfo.InvariantCulture)).ToArray());
        return body;
    }

    private static bool IsJson(string path) => path.EndsWith(".json", StringComparison.OrdinalIgnoreCase);

    /// <summary>Every line but a trailing empty one (a token may be a space, so lines are not trimmed).</summary>
    private static IEnumerable<string> Lines(string path)
    {
        var lines = File.ReadAllLines(path);
        return lines.Length > 0 && lines[^1].Length == 0 ? lines[..^1] : lines;
    }

    private static JsonArray Strings(IEnumerable<string> values) => new(values.Select(v => (JsonNode?)v).ToArray());
}
