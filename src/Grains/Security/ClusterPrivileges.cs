using System.Collections.Frozen;

namespace TrainedModelsOrleans.Grains.Security;

/// <summary>A named cluster privilege: the action patterns it grants, less those it excludes (ES's BuiltinClusterPrivilege).</summary>
public sealed record ClusterPrivilege(string Name, IReadOnlyList<string> Patterns, IReadOnlyList<string> Excluded)
{
    public bool Grants(string action) =>
        Patterns.Any(p => ActionPattern.Matches(p, action)) && !Excluded.Any(p => ActionPattern.Matches(p, action));
}

/// <summary>
/// The cluster privileges of Elasticsearch's ClusterPrivilegeResolver that concern this service's actions, with the
/// patterns ES gives them, listed least access first (the order ES names the granting privileges in a 403).
/// </summary>
public static class ClusterPrivileges
{
    private const string Security = "cluster:admin/xpack/security/*";

    /// <summary>Grants every API key action, but getting and invalidating only on the caller's own keys (ClusterAccess.AllowsBeyondOwnApiKeys).</summary>
    public const string ManageOwnApiKey = "manage_own_api_key";

    public static readonly IReadOnlyList<ClusterPrivilege> All =
    [
        new("monitor_ml", ["cluster:monitor/xpack/ml/*"], []),
        new("read_pipeline", ["cluster:admin/ingest/pipeline/get", "cluster:admin/ingest/pipeline/simulate"], []),
        new("read_security", ["cluster:admin/xpack/security/api_key/get", "cluster:admin/xpack/security/user/get"], []),
        new("monitor", ["cluster:monitor/*"], []),
        new("manage_ml", ["cluster:admin/xpack/ml/*", "cluster:monitor/xpack/ml/*"], []),
        new("manage_ingest_pipelines", ["cluster:admin/ingest/pipeline/*"], []),
        new("manage_pipeline", ["cluster:admin/ingest/pipeline/*"], []),
        new(ManageOwnApiKey, ["cluster:admin/xpack/security/api_key/*"], []),
        new("manage_api_key", ["cluster:admin/xpack/security/api_key/*"], []),
        new("manage_security", [Security], []),
        new("manage", ["cluster:*"], [Security]),
        new("all", ["cluster:*"], []),
    ];

    private static readonly FrozenDictionary<string, ClusterPrivilege> ByName = All.ToFrozenDictionary(p => p.Name, StringComparer.Ordinal);

    public static ClusterPrivilege? Find(string name) => ByName.GetValueOrDefault(name);

    /// <summary>A privilege name we know, or a raw action pattern over cluster actions (ES accepts both in role descriptors).</summary>
    public static bool IsValid(string privilege) => ByName.ContainsKey(privilege) || privilege.StartsWith("cluster:", StringComparison.Ordinal);

    /// <summary>Whether a privilege (a name, or an action pattern as ES allows in a role) grants the action.</summary>
    public static bool Grants(string privilege, string action) =>
        ByName.TryGetValue(privilege, out var named) ? named.Grants(action)
        : privilege.StartsWith("cluster:", StringComparison.Ordinal) && ActionPattern.Matches(privilege, action);

    /// <summary>The privileges that grant an action, least access first: the list a 403 ends with.</summary>
    public static IReadOnlyList<string> ThatGrant(string action) => All.Where(p => p.Grants(action)).Select(p => p.Name).ToArray();
}

/// <summary>ES's action patterns: '*' matches any run of characters (Automatons.patterns).</summary>
public static class ActionPattern
{
    /// <summary>
    /// Linear glob matching: on a mismatch only the last '*' is retried one character further, never the earlier ones
    /// (any match they would find, the last one finds too), so a pattern of many stars costs O(pattern × action), not
    /// an exponential search.
    /// </summary>
    public static bool Matches(string pattern, string action)
    {
        int p = 0, a = 0, star = -1, resume = 0;
        while (a < action.Length)
        {
            if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                resume = a;
            }
            else if (p < pattern.Length && pattern[p] == action[a])
            {
                p++;
                a++;
            }
            else if (star >= 0)
            {
                p = star + 1;
                a = ++resume;
            }
            else return false;
        }
        while (p < pattern.Length && pattern[p] == '*') p++;
        return p == pattern.Length;
    }
}
