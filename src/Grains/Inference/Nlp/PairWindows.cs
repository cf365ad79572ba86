using TrainedModelsOrleans.Inference.Text;

namespace TrainedModelsOrleans.Grains.Inference.Nlp;

/// <summary>
/// ES's NlpTokenizer.tokenize(seq1, seq2, truncate, span): a fixed first text (a question, a query) paired
/// with each document, the document cut into overlapping windows when the pair is too long and a span is
/// set (question_answering, text_similarity). The tokenizer builds the windows from the document's own pieces
/// (<see cref="NlpTokenizer.TokenizePairs(string, IReadOnlyList{string}, Truncation, int)"/>), so every
/// tokenization type windows as ES does and the offsets are already the document's.
/// </summary>
internal static class PairWindows
{
    public static NlpTokens Tokenize(NlpTokenizer tokenizer, string first, IReadOnlyList<string> documents, Truncation truncate, int span)
    {
        var batch = tokenizer.TokenizePairs(first, documents, truncate, span);
        var documentOfRow = batch.Sequences.Select(s => s.SequenceId).ToArray();
        return NlpTokens.Pairs(batch, documentOfRow, new int[documentOfRow.Length],
            tokenizer.Options.SpecialTokens.SeparatorsBetweenPair, tokenizer.SeparatorTokenId);
    }
}
