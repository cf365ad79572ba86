using System.Collections.Concurrent;

namespace TrainedModelsOrleans.Grains.Security;

/// <summary>
/// What an authenticated subject may do: its user's roles, and for an API key also the key's own role descriptors and
/// the roles its owner had when it was made (ES's limited-by role): an action must be granted by each, so a key never
/// exceeds its owner, then or now. Decisions are remembered per action, so the hot path asks a dictionary.
/// </summary>
public sealed class ClusterAccess(IReadOnlyList<string> roles, IReadOnlyList<ApiKeyRole>? keyRoles = null, IReadOnlyList<string>? limitedByRoles = null)
{
    /// <summary>Every authenticated user may see who they are and change their own password (ES's same-user check).</summary>
    public const string AuthenticateAction = "cluster:admin/xpack/security/user/authenticate";

    private readonly ConcurrentDictionary<string, bool> _decisions = new(StringComparer.Ordinal);

    public IReadOnlyList<string> Roles { get; } = roles;

    public bool Allows(string action) => _decisions.GetOrAdd(action, Decide);

    private bool Decide(string action)
    {
        if (action == AuthenticateAction) return true;
        if (!BuiltinRoles.Grant(Roles, action)) return false;
        if (limitedByRoles is not null && !BuiltinRoles.Grant(limitedByRoles, action)) return false;
        // role_descriptors {} (none) leaves the owner's privileges, as ES.
        return keyRoles is null || keyRoles.Count == 0
            || keyRoles.Any(r => r.Cluster.Any(p => ClusterPrivileges.Grants(p, action)));
    }
}
