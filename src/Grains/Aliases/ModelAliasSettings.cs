using System.Text.RegularExpressions;
using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.Models.Parsing;

namespace TrainedModelsOrleans.Grains.Aliases;

/// <summary>
/// <c>PUT _ml/trained_models/&lt;model_id&gt;/model_aliases/&lt;model_alias&gt;?reassign</c>, validated as
/// PutTrainedModelAliasAction.Request.validate() does.
/// </summary>
public sealed partial record ModelAliasSettings(string ModelId, string Alias, bool Reassign)
{
    /// <summary>ES's VALID_MODEL_ALIAS_CHAR_PATTERN: like a model id, but it may not end with a digit (or '-', '_', '.').</summary>
    [GeneratedRegex(@"^[a-z0-9](?:[a-z0-9_\-\.]*[a-z])?\z", RegexOptions.CultureInvariant)]
    private static partial Regex ValidAlias();

    public static bool IsValidAlias(string alias) => ValidAlias().IsMatch(alias);

    /// <summary>Reads <c>reassign</c> (default false) and validates.</summary>
    public static ModelAliasSettings Parse(string modelId, string alias, IReadOnlyDictionary<string, string?> query)
    {
        var reassign = RestParameters.Bool(query, "reassign") ?? false;
        Validate(modelId, alias);
        return new ModelAliasSettings(modelId, alias, reassign);
    }

    /// <summary>
    /// 400 <c>action_request_validation_exception</c> listing, in ES's order: the alias equal to the model id,
    /// then an alias that breaks the pattern (Messages.INVALID_MODEL_ALIAS).
    /// </summary>
    public PutModelAliasRequest ToRequest() => new() { ModelId = ModelId, ModelAlias = Alias, Reassign = Reassign };

    /// <summary>A typed request, however it came, validated as the REST form is.</summary>
    public static ModelAliasSettings From(PutModelAliasRequest request)
    {
        Validate(request.ModelId, request.ModelAlias);
        return new ModelAliasSettings(request.ModelId, request.ModelAlias, request.Reassign);
    }

    public static void Validate(string modelId, string alias)
    {
        var errors = new List<string>(2);
        if (alias == modelId) errors.Add($"model_alias [{alias}] cannot equal model_id [{modelId}]");
        if (!IsValidAlias(alias))
            errors.Add($"Invalid model_alias; '{alias}' can contain lowercase alphanumeric (a-z and 0-9), hyphens or underscores; " +
                "must start with alphanumeric and cannot end with numbers");
        // Our choice (ES sets no length for an alias): the id limit of model and deployment ids, as an alias shares their namespace.
        if (!Models.ModelIdRules.HasValidLength(alias)) errors.Add(Models.ModelIdRules.IdTooLongMessage("model_alias", alias));
        if (errors.Count > 0) throw EsErrors.Validation([.. errors]);
    }
}
