using System.Text;

namespace TrainedModelsOrleans.Grains.Errors;

/// <summary>
/// Text a client sent, made safe to write to a log line or an error reason: control characters (newlines, NUL, ESC)
/// escaped as \n or \u001b so a value cannot forge lines or drive a terminal, and cut to a bounded length with an
/// ellipsis that says how much was left out, so a 20 KB id makes a short line.
/// </summary>
public static class LoggedText
{
    public const int DefaultMaxLength = 256;

    public static string Of(string? text, int maxLength = DefaultMaxLength)
    {
        if (text is null) return "null";
        var cut = text.Length > maxLength;
        var kept = cut ? text.AsSpan(0, char.IsHighSurrogate(text[maxLength - 1]) ? maxLength - 1 : maxLength) : text.AsSpan();
        if (!cut && !NeedsEscape(kept)) return text;
        var builder = new StringBuilder(kept.Length + 32);
        for (var i = 0; i < kept.Length; i++)
        {
            var c = kept[i];
            if (char.IsHighSurrogate(c) && i + 1 < kept.Length && char.IsLowSurrogate(kept[i + 1]))
            {
                builder.Append(c).Append(kept[++i]);
                continue;
            }
            switch (c)
            {
                case '\n': builder.Append("\\n"); break;
                case '\r': builder.Append("\\r"); break;
                case '\t': builder.Append("\\t"); break;
                default:
                    if (char.IsControl(c) || char.IsSurrogate(c) || c is '\u2028' or '\u2029')
                        builder.Append("\\u").Append(((int)c).ToString("x4", System.Globalization.CultureInfo.InvariantCulture));
                    else builder.Append(c);
                    break;
            }
        }
        if (cut) builder.Append("…(").Append(text.Length - kept.Length).Append(" more chars)");
        return builder.ToString();
    }

    private static bool NeedsEscape(ReadOnlySpan<char> text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsControl(c) || c is '\u2028' or '\u2029') return true;
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) { i++; continue; }
            if (char.IsSurrogate(c)) return true;
        }
        return false;
    }
}
