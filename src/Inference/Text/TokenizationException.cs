namespace TrainedModelsOrleans.Inference.Text;

/// <summary>
/// The input cannot be tokenized under the current settings (too long with truncation off, a pair
/// that cannot be truncated; windows that cannot move forward). The message is Elasticsearch's, and so is the
/// status it answers with: 400, or 500 where ES throws an IllegalStateException.
/// </summary>
public sealed class TokenizationException(string message, int status = 400) : Exception(message)
{
    public int Status { get; } = status;

    /// <summary>ES's text when truncation is off and the input does not fit.</summary>
    public static TokenizationException TooLong(int tokens, int maxSequenceLength) =>
        new($"Input too large. The tokenized input length [{tokens}] exceeds the maximum sequence length [{maxSequenceLength}]");
}

/// <summary>
/// The vocabulary lacks tokens the tokenizer needs. The message is Elasticsearch's
/// (<c>stored vocabulary is missing required [[UNK]] token</c>); ES answers it with 409.
/// </summary>
public sealed class MissingSpecialTokenException(IReadOnlyList<string> tokens, string message) : Exception(message)
{
    /// <summary>The missing tokens, e.g. <c>[UNK]</c>.</summary>
    public IReadOnlyList<string> Tokens { get; } = tokens;
}
