using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Models.Parsing;

namespace TrainedModelsOrleans.Grains.Models;

/// <summary>
/// An id expression as GET _ml/trained_models/&lt;ids&gt; takes it: a comma-separated list of ids and
/// <c>*</c> wildcards; empty, <c>_all</c> or <c>*</c> mean every model. Expansion follows
/// TrainedModelProvider.expandIds and ExpandedIdsMatcher (core/action/util): model aliases count
/// as the model they point to, and with <c>allow_no_match=false</c> every token, wildcards
/// included, must match something.
/// </summary>
public sealed class ModelIdPattern
{
    private ModelIdPattern(IReadOnlyList<string> tokens)
    {
        Tokens = tokens;
        IsAll = tokens.Count == 0 || tokens is ["_all"] or ["*"];
    }

    /// <summary>The tokens, trimmed, empty ones dropped (Strings.tokenizeToStringArray).</summary>
    public IReadOnlyList<string> Tokens { get; }

    /// <summary>No tokens, or only <c>_all</c> or <c>*</c> (Strings.isAllOrWildcard).</summary>
    public bool IsAll { get; }

    /// <summary>The expression as written back into messages.</summary>
    public string Expression => string.Join(",", Tokens);

    public static ModelIdPattern Parse(string? expression) =>
        new((expression ?? "").Split(',').Select(t => t.Trim()).Where(t => t.Length > 0).ToList());

    /// <summary>Does any token match <paramref name="id"/>?</summary>
    public bool Matches(string id) => IsAll || Tokens.Any(t => SimpleMatch(t, id));

    /// <summary>
    /// The ids of the existing models the expression selects, sorted as ES sorts them (by model_id).
    /// Throws 404 <c>resource_not_found_exception</c> "No known trained model with model_id [a,b]"
    /// naming the tokens nothing matched: exact ids always; wildcards (and <c>_all</c> as <c>*</c>)
    /// only when <paramref name="allowNoMatch"/> is false.
    /// </summary>
    /// <param name="existingIds">Ids of the models that may be returned (already filtered by tags, when tags are asked for).</param>
    /// <param name="aliases">Model alias → model id.</param>
    public IReadOnlyList<string> Expand(IEnumerable<string> existingIds, bool allowNoMatch, IReadOnlyDictionary<string, string>? aliases = null)
    {
        aliases ??= new Dictionary<string, string>();
        var existing = existingIds.ToHashSet(StringComparer.Ordinal);

        var wanted = new HashSet<string>(StringComparer.Ordinal);
        if (!IsAll)
        {
            foreach (var token in Tokens)
            {
                foreach (var (alias, modelId) in aliases)
                    if (IsWildcard(token) ? SimpleMatch(token, alias) : token == alias) wanted.Add(modelId);
            }
        }
        var found = existing.Where(id => Matches(id) || wanted.Contains(id)).ToHashSet(StringComparer.Ordinal);

        // A token is satisfied by a found model id, or by an alias of a found model.
        var matchedTokens = new HashSet<string>(found, StringComparer.Ordinal);
        foreach (var (alias, modelId) in aliases)
            if (found.Contains(modelId)) matchedTokens.Add(alias);

        var unmatched = RequiredMatchers(allowNoMatch).Where(m => !matchedTokens.Any(m.Matches)).Select(m => m.Token).ToList();
        if (unmatched.Count > 0)
            throw EsErrors.NotFound($"No known trained model with model_id [{string.Join(",", unmatched)}]");

        return found.OrderBy(id => id, StringComparer.Ordinal).ToList();
    }

    private IEnumerable<(string Token, Func<string, bool> Matches)> RequiredMatchers(bool allowNoMatch)
    {
        if (IsAll)
        {
            if (!allowNoMatch) yield return ("*", _ => true);
            yield break;
        }
        foreach (var token in Tokens)
        {
            if (!IsWildcard(token)) yield return (token, id => id == token);
            else if (!allowNoMatch) yield return (token, id => SimpleMatch(token, id));
        }
    }

    private static bool IsWildcard(string token) => token.Contains('*');

    /// <summary>ES's Regex.simpleMatch: <c>*</c> matches any run of characters, nothing else is special.</summary>
    public static bool SimpleMatch(string pattern, string value)
    {
        if (!pattern.Contains('*')) return pattern == value;
        var parts = pattern.Split('*');
        if (!value.StartsWith(parts[0], StringComparison.Ordinal)) return false;
        var position = parts[0].Length;
        for (var i = 1; i < parts.Length - 1; i++)
        {
            var at = value.IndexOf(parts[i], position, StringComparison.Ordinal);
            if (at < 0) return false;
            position = at + parts[i].Length;
        }
        var last = parts[^1];
        return value.Length - position >= last.Length && value.EndsWith(last, StringComparison.Ordinal);
    }
}
