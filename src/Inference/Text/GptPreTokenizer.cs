using System.Globalization;
using System.Text;

namespace TrainedModelsOrleans.Inference.Text;

/// <summary>
/// The GPT-2 pre-tokenization pattern ES's BpeTokenizer runs with java.util.regex,
/// <c>'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+</c>, by hand, because two of Java's
/// rules are not .NET's (nor Microsoft.ML.Tokenizers' RobertaPreTokenizer's): <c>\s</c> is ASCII whitespace only
/// (<c>[ \t\n\x0B\f\r]</c>: a no-break space is a symbol), and <c>\p{L}</c> and <c>\p{N}</c> test code points, so a
/// letter outside the BMP (CJK Extension B, mathematical letters) is a letter, where .NET's regex sees two surrogates.
/// </summary>
internal static class GptPreTokenizer
{
    private static readonly string[] Contractions = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"];

    /// <summary>The length of the match at <paramref name="at"/>; every position matches one of the alternatives.</summary>
    public static int MatchAt(ReadOnlySpan<char> text, int at)
    {
        foreach (var contraction in Contractions)
        {
            if (text[at..].StartsWith(contraction, StringComparison.Ordinal)) return contraction.Length;
        }
        // " ?\p{L}+", " ?\p{N}+", " ?[^\s\p{L}\p{N}]+": an optional space, then a run of one class.
        var start = text[at] == ' ' && at + 1 < text.Length && !IsSpace(text[at + 1]) ? at + 1 : at;
        var kind = KindAt(text, start, out var width);
        if (kind != Kind.Space)
        {
            var end = start + width;
            while (end < text.Length && KindAt(text, end, out var next) == kind) end += next;
            return end - at;
        }
        // "\s+(?!\S)" leaves the last space of a run that a non-space follows to that next match; "\s+" takes a lone one.
        var runEnd = at;
        while (runEnd < text.Length && IsSpace(text[runEnd])) runEnd++;
        return runEnd == text.Length || runEnd - at == 1 ? runEnd - at : runEnd - at - 1;
    }

    private enum Kind
    {
        Letter,
        Number,
        Other,
        Space,
    }

    private static Kind KindAt(ReadOnlySpan<char> text, int at, out int width)
    {
        if (IsSpace(text[at]))
        {
            width = 1;
            return Kind.Space;
        }
        Rune.DecodeFromUtf16(text[at..], out var rune, out width);
        return Rune.GetUnicodeCategory(rune) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter => Kind.Letter,
            UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => Kind.Number,
            _ => Kind.Other,
        };
    }

    // Java's \s without UNICODE_CHARACTER_CLASS.
    private static bool IsSpace(char c) => c is ' ' or '\t' or '\n' or '\u000B' or '\f' or '\r';
}
