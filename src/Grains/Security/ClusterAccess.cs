using System.Collections.Concurrent;

namespace TrainedModelsOrleans.Grains.Security;

/// <summary>
/// What an authenticated subject may do: its user's roles, and for an API key also the key's own role descriptors and
/// the roles its owner had when it was made (ES's limited-by role): an action must be granted by each, so a key never
/// exceeds its owner, then or now. Decisions are remembered per action, so the hot path asks a dictionary.
/// </summary>
public sealed class ClusterAccess(IReadOnlyList<string> roles, IReadOnlyList<ApiKeyRole>? keyRoles = null, IReadOnlyList<string>? limitedByRoles = null)
{
    /// <summary>Every authenticated subject may see who it is (a user changing their own password is SecurityMiddleware.OwnAccount).</summary>
    public const string AuthenticateAction = "cluster:admin/xpack/security/user/authenticate";

    private readonly ConcurrentDictionary<string, bool> _decisions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _beyondOwnKeys = new(StringComparer.Ordinal);

    public IReadOnlyList<string> Roles { get; } = roles;

    public bool Allows(string action) => _decisions.GetOrAdd(action, a => Decide(a, countOwnKeys: true));

    /// <summary>
    /// Whether the action is allowed without counting manage_own_api_key: when not, getting or invalidating API keys is
    /// allowed only on the subject's own (see OwnApiKeys in the API).
    /// </summary>
    public bool AllowsBeyondOwnApiKeys(string action) => _beyondOwnKeys.GetOrAdd(action, a => Decide(a, countOwnKeys: false));

    private bool Decide(string action, bool countOwnKeys)
    {
        if (action == AuthenticateAction) return true;
        bool Grants(string privilege) => (countOwnKeys || privilege != ClusterPrivileges.ManageOwnApiKey) && ClusterPrivileges.Grants(privilege, action);
        bool RolesGrant(IEnumerable<string> roles) => roles.Any(role => BuiltinRoles.ClusterPrivilegesOf(role).Any(Grants));
        if (!RolesGrant(Roles)) return false;
        if (limitedByRoles is not null && !RolesGrant(limitedByRoles)) return false;
        // role_descriptors {} (none) leaves the owner's privileges, as ES.
        return keyRoles is null || keyRoles.Count == 0 || keyRoles.Any(r => r.Cluster.Any(Grants));
    }
}
