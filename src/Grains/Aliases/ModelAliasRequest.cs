using System.Text.RegularExpressions;
using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.Models.Parsing;

namespace TrainedModelsOrleans.Grains.Aliases;

/// <summary>
/// <c>PUT _ml/trained_models/&lt;model_id&gt;/model_aliases/&lt;model_alias&gt;?reassign</c>, validated as
/// PutTrainedModelAliasAction.Request.validate() does.
/// </summary>
public sealed partial record ModelAliasRequest(string ModelId, string Alias, bool Reassign)
{
    /// <summary>ES's VALID_MODEL_ALIAS_CHAR_PATTERN: like a model id, but it may not end with a digit (or '-', '_', '.').</summary>
    [GeneratedRegex(@"^[a-z0-9](?:[a-z0-9_\-\.]*[a-z])?\z", RegexOptions.CultureInvariant)]
    private static partial Regex ValidAlias();

    public static bool IsValidAlias(string alias) => ValidAlias().IsMatch(alias);

    /// <summary>Reads <c>reassign</c> (default false) and validates.</summary>
    public static ModelAliasRequest Parse(string modelId, string alias, IReadOnlyDictionary<string, string?> query)
    {
        var reassign = RestParameters.Bool(query, "reassign") ?? false;
        Validate(modelId, alias);
        return new ModelAliasRequest(modelId, alias, reassign);
    }

    /// <summary>
    /// 400 <c>action_request_validation_exception</c> listing, in ES's order: the alias equal to the model id,
    /// then an alias that breaks the pattern (Messages.INVALID_MODEL_ALIAS).
    /// </summary>
    public static void Validate(string modelId, string alias)
    {
        var errors = new List<string>(2);
        if (alias == modelId) errors.Add($"model_alias [{alias}] cannot equal model_id [{modelId}]");
        if (!IsValidAlias(alias))
            errors.Add($"Invalid model_alias; '{alias}' can contain lowercase alphanumeric (a-z and 0-9), hyphens or underscores; " +
                "must start with alphanumeric and cannot end with numbers");
        if (errors.Count > 0) throw EsErrors.Validation([.. errors]);
    }
}
