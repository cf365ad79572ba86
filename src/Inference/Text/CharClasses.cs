using System.Globalization;

namespace TrainedModelsOrleans.Inference.Text;

/// <summary>
/// The character tests of Elasticsearch's BERT analysis chain (ControlCharFilter, Lucene's
/// WhitespaceTokenizer, BasicTokenFilter), with Java's definitions rather than .NET's where they differ.
/// </summary>
internal static class CharClasses
{
    /// <summary>
    /// ControlCharFilter drops Java's CONTROL, FORMAT, PRIVATE_USE and SURROGATE chars except tab,
    /// newline and carriage return. Surrogates included: characters outside the BMP never reach the tokenizer.
    /// </summary>
    public static bool IsRemoved(char c)
    {
        if (c < 0x80) return c < 0x20 ? c is not ('\t' or '\n' or '\r') : c == 0x7F;
        return char.GetUnicodeCategory(c) is UnicodeCategory.Control or UnicodeCategory.Format
            or UnicodeCategory.PrivateUse or UnicodeCategory.Surrogate;
    }

    /// <summary>
    /// Java's Character.isWhitespace for the chars that survive the control filter: space, line and
    /// paragraph separators except the no-break spaces, plus tab, newline and carriage return.
    /// </summary>
    public static bool IsWhitespace(char c)
    {
        if (c < 0x80) return c is ' ' or '\t' or '\n' or '\r';
        if (c is '\u00A0' or '\u2007' or '\u202F') return false;
        return char.GetUnicodeCategory(c) is UnicodeCategory.SpaceSeparator or UnicodeCategory.LineSeparator
            or UnicodeCategory.ParagraphSeparator;
    }

    /// <summary>
    /// Java's Character.isWhitespace in full, for text no control filter has seen (BPE, unigram): also the control
    /// chars U+000B, U+000C and U+001C..U+001F.
    /// </summary>
    public static bool IsJavaWhitespace(char c) => c is '\u000B' or '\f' or (>= '\u001C' and <= '\u001F') || IsWhitespace(c);

    /// <summary>BasicTokenFilter.isPunctuationMark: ASCII symbols and every Unicode punctuation category.</summary>
    public static bool IsPunctuation(char c)
    {
        if (c < 0x80) return c is (>= '!' and <= '/') or (>= ':' and <= '@') or (>= '[' and <= '`') or (>= '{' and <= '~');
        return char.GetUnicodeCategory(c) is UnicodeCategory.DashPunctuation or UnicodeCategory.OpenPunctuation
            or UnicodeCategory.ClosePunctuation or UnicodeCategory.ConnectorPunctuation or UnicodeCategory.OtherPunctuation
            or UnicodeCategory.InitialQuotePunctuation or UnicodeCategory.FinalQuotePunctuation;
    }

    /// <summary>The CJK ideograph blocks BasicTokenFilter splits on; the supplementary ones never arrive (see <see cref="IsRemoved"/>).</summary>
    public static bool IsCjk(char c) => c is (>= '\u4E00' and <= '\u9FFF') or (>= '\u3400' and <= '\u4DBF') or (>= '\uF900' and <= '\uFAFF');

    /// <summary>Java's Character.toLowerCase, which (unlike .NET's invariant culture) maps U+0130 to 'i'.</summary>
    public static char ToLower(char c) => c < 0x80
        ? (c is >= 'A' and <= 'Z' ? (char)(c + 32) : c)
        : c == '\u0130' ? 'i' : char.ToLowerInvariant(c);
}
