using TrainedModelsOrleans.Grains.Models.Parsing;
using TrainedModelsOrleans.Inference.Text;

namespace TrainedModelsOrleans.Grains.Inference.Nlp;

/// <summary>
/// ES's NlpTokenizer.tokenize(seq1, seq2, truncate, span): a fixed first text (a question, a query) paired
/// with each document, the document cut into overlapping windows when the pair is too long and a span is
/// set (question_answering, text_similarity). Windows never end inside a word and overlap by
/// <c>span</c> tokens, backed up to a word's start.
/// </summary>
/// <remarks>
/// The tokenizer pairs whole texts only, so a window is the document's characters from its first
/// token's start to its last token's end, tokenized again as the pair's second text (WordPiece splits
/// inside words only, so a window cut on word boundaries gives the same pieces); the window's offsets
/// are moved back onto the document.
/// </remarks>
internal static class PairWindows
{
    public static NlpTokens Tokenize(NlpTokenizer tokenizer, string first, IReadOnlyList<string> documents, Truncation truncate, int span)
    {
        var special = tokenizer.Options.SpecialTokens;
        var extraTokens = 2 + special.SeparatorsBetweenPair;
        var max = tokenizer.Options.MaxSequenceLength;
        if (!tokenizer.Options.WithSpecialTokens)
            throw new ArgumentException("Unable to do sequence pair tokenization without special tokens");
        var firstCount = tokenizer.TokenizeWords(first).Count;

        var firsts = new List<string>();
        var seconds = new List<string>();
        var documentOfRow = new List<int>();
        var characterOffsets = new List<int>();
        var windowLengths = new List<int>();
        for (var d = 0; d < documents.Count; d++)
        {
            var document = documents[d];
            var pieces = tokenizer.TokenizeWords(document);
            var total = firstCount + pieces.Count + extraTokens;
            // ES windows only when the pair does not fit and a span is set; otherwise truncation (or its error) applies.
            if (span < 0 || total <= max)
            {
                firsts.Add(first);
                seconds.Add(document);
                documentOfRow.Add(d);
                characterOffsets.Add(0);
                windowLengths.Add(-1);
                continue;
            }
            foreach (var (from, to) in Windows(pieces.WordPositions, firstCount, extraTokens, max, span))
            {
                var start = pieces.StartOffsets[from];
                var end = pieces.EndOffsets[to - 1];
                firsts.Add(first);
                seconds.Add(document[start..end]);
                documentOfRow.Add(d);
                characterOffsets.Add(start);
                windowLengths.Add(to - from);
            }
        }

        var batch = tokenizer.TokenizePairs(firsts, seconds, truncate);
        for (var r = 0; r < batch.BatchSize; r++)
        {
            var expected = windowLengths[r];
            var got = batch.Sequences[r].Length - firstCount - extraTokens;
            if (expected >= 0 && got != expected)
            {
                throw EsErrors.Status(500,
                    $"Tokenization of the window at [{characterOffsets[r]}] gave [{got}] tokens, not the [{expected}] of the whole text; consider decreasing the span setting");
            }
        }
        return NlpTokens.Pairs(batch, [.. documentOfRow], [.. characterOffsets], special.SeparatorsBetweenPair, tokenizer.SeparatorTokenId);
    }

    /// <summary>The windows over the second text's pieces, as [from, to) piece ranges (ES's splitStartPos/splitEndPos loop).</summary>
    internal static List<(int From, int To)> Windows(IReadOnlyList<int> words, int firstCount, int extraTokens, int maxSequenceLength, int span)
    {
        var room = maxSequenceLength - extraTokens - firstCount;
        if (room <= 0)
        {
            throw new ArgumentException(
                $"Unable to do sequence pair tokenization: the first sequence [{firstCount + extraTokens} tokens] is longer than the max sequence length [{maxSequenceLength} tokens]");
        }
        if (span > room)
        {
            throw new ArgumentException(
                "Unable to do sequence pair tokenization: the combined first sequence, span length and delimiting tokens" +
                $" [{firstCount} + {span} + {extraTokens} = {firstCount + span + extraTokens} tokens] is longer than the max sequence length [{maxSequenceLength} tokens]." +
                " Reduce the size of the [span] window.");
        }

        var windows = new List<(int, int)>();
        var count = words.Count;
        int start = 0, end = 0;
        while (end < count)
        {
            end = Math.Min(start + room, count);
            // Do not end inside a word.
            if (end != count)
            {
                while (end > start + 1 && words[end] == words[end - 1]) end--;
            }
            windows.Add((start, end));
            var previousStart = start;
            start = end - span;
            if (start <= previousStart)
            {
                // ES's IllegalStateException: the window would not move forward.
                throw EsErrors.Status(500, "Tokenization cannot be satisfied with the current span setting. Consider decreasing the span setting");
            }
            // Back up so the window starts on a whole word.
            if (start < count)
            {
                while (start > previousStart + 1 && words[start] == words[start - 1]) start--;
            }
        }
        return windows;
    }
}
