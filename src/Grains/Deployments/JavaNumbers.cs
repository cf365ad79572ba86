using System.Globalization;

namespace TrainedModelsOrleans.Grains.Deployments;

/// <summary>Java's Long.parseLong / Integer.parseInt: an optional sign and ASCII digits, nothing else.</summary>
internal static class JavaNumbers
{
    public static bool TryParseLong(string s, out long value) =>
        long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);

    public static bool TryParseInt(string s, out int value) =>
        int.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
}
