using System.Text.RegularExpressions;
using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Models.Parsing;

namespace TrainedModelsOrleans.Grains.Models;

/// <summary>
/// Elasticsearch's id rules (core/ml/utils/MlStrings.java: isValidId, hasValidLengthForId,
/// ID_LENGTH_LIMIT) with the message templates of core/ml/job/messages/Messages.java; the id in a message is escaped
/// and cut to a bounded prefix (ES echoes it whole).
/// </summary>
public static partial class ModelIdRules
{
    public const int IdLengthLimit = 64;

    /// <summary>Lowercase alphanumerics, '-', '_' and '.' (ES allows '.' without documenting it); starts and ends alphanumeric.</summary>
    [GeneratedRegex("^[a-z0-9](?:[a-z0-9_\\-.]*[a-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex ValidIdPattern();

    public static bool IsValidId(string? id) => id is not null && ValidIdPattern().IsMatch(id) && id != "_all";

    /// <summary>ES counts UTF-16 code units, as C# does.</summary>
    public static bool HasValidLength(string id) => id.Length <= IdLengthLimit;

    /// <summary>Messages.INVALID_ID.</summary>
    public static string InvalidIdMessage(string field, string id) =>
        $"Invalid {field}; '{LoggedText.Of(id)}' can contain lowercase alphanumeric (a-z and 0-9), hyphens or underscores; must start and end with alphanumeric";

    /// <summary>Messages.ID_TOO_LONG.</summary>
    public static string IdTooLongMessage(string field, string id) =>
        $"Invalid {field}; '{LoggedText.Of(id)}' cannot contain more than {IdLengthLimit} characters.";

    /// <summary>The id errors ES's validation adds, in its order (both can apply).</summary>
    public static IReadOnlyList<string> Errors(string id, string field = "model_id")
    {
        var errors = new List<string>(2);
        if (!IsValidId(id)) errors.Add(InvalidIdMessage(field, id));
        if (!HasValidLength(id)) errors.Add(IdTooLongMessage(field, id));
        return errors;
    }

    /// <summary>Throws ES's 400 <c>action_request_validation_exception</c> when the id breaks a rule.</summary>
    public static void Validate(string id, string field = "model_id")
    {
        var errors = Errors(id, field);
        if (errors.Count > 0) throw EsErrors.Validation([.. errors]);
    }
}
