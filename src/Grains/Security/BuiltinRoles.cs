using System.Collections.Frozen;

namespace TrainedModelsOrleans.Grains.Security;

/// <summary>
/// The reserved roles a user may be given, by their cluster privileges. superuser, machine_learning_admin and
/// machine_learning_user are Elasticsearch's (ReservedRolesStore); machine_learning_admin also manages ingest pipelines
/// here, because our pipelines exist to run inference processors. monitor and monitor_ml are roles named for the
/// privilege they hold (ES has the privileges, not such roles). A role we do not know grants nothing, as in ES.
/// </summary>
public static class BuiltinRoles
{
    public const string Superuser = "superuser";
    public const string MachineLearningAdmin = "machine_learning_admin";
    public const string MachineLearningUser = "machine_learning_user";
    public const string Monitor = "monitor";
    public const string MonitorMl = "monitor_ml";

    private static readonly FrozenDictionary<string, string[]> Privileges = new Dictionary<string, string[]>
    {
        [Superuser] = ["all"],
        [MachineLearningAdmin] = ["manage_ml", "manage_ingest_pipelines"],
        [MachineLearningUser] = ["monitor_ml"],
        [Monitor] = ["monitor"],
        [MonitorMl] = ["monitor_ml"],
    }.ToFrozenDictionary(StringComparer.Ordinal);

    public static IEnumerable<string> Names => Privileges.Keys;

    public static IReadOnlyList<string> ClusterPrivilegesOf(string role) => Privileges.GetValueOrDefault(role) ?? [];
}
