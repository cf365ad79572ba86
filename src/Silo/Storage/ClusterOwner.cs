using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Microsoft.Extensions.Logging;

namespace TrainedModelsOrleans.Silo.Storage;

/// <summary>
/// The OS account that owns a cluster. initdb and postgres refuse to run as root, so when this
/// process is root the cluster belongs to the <c>postgres</c> account and its tools run through
/// <c>runuser</c>; otherwise everything runs as the current user.
/// </summary>
[UnsupportedOSPlatform("windows")]
internal static class ClusterOwner
{
    public const string ServiceAccount = "postgres";

    public static bool IsRoot { get; } = geteuid() == 0;

    private static readonly Lazy<(uint Uid, uint Gid)> Account = new(LookUpServiceAccount);

    /// <summary>Hands a file or folder we created to the cluster owner (a no-op unless root).</summary>
    public static void Own(string path)
    {
        if (!IsRoot) return;
        var (uid, gid) = Account.Value;
        if (chown(path, uid, gid) != 0)
            throw new IOException($"chown {ServiceAccount} '{path}' failed: errno {Marshal.GetLastPInvokeError()}.");
    }

    /// <summary>Fails early, with the reason, when root and the service account is missing.</summary>
    public static void EnsureExists()
    {
        if (IsRoot) _ = Account.Value;
    }

    /// <summary>
    /// When root, the postgres account must be able to walk down to the cluster folder; a parent
    /// made by <c>mktemp -d</c> (0700 root) would stop it. Adds o+x (search, not read) where missing.
    /// </summary>
    public static void EnsureAncestorsTraversable(string clusterDirectory, ILogger logger)
    {
        if (!IsRoot) return;
        var granted = new List<string>();
        for (var dir = Path.GetDirectoryName(clusterDirectory); !string.IsNullOrEmpty(dir); dir = Path.GetDirectoryName(dir))
        {
            var mode = File.GetUnixFileMode(dir);
            if (mode.HasFlag(UnixFileMode.OtherExecute)) continue;
            File.SetUnixFileMode(dir, mode | UnixFileMode.OtherExecute);
            granted.Add(dir);
        }
        if (granted.Count > 0)
            logger.LogInformation("Granted o+x (search only) on {Directories} so the {Account} account can reach {ClusterDirectory}",
                string.Join(", ", granted), ServiceAccount, clusterDirectory);
    }

    private static (uint, uint) LookUpServiceAccount()
    {
        var entry = getpwnam(ServiceAccount);
        if (entry == IntPtr.Zero)
            throw new InvalidOperationException(
                $"Running as root, and initdb/postgres refuse root, but there is no '{ServiceAccount}' OS account to run them as. " +
                $"Create it (useradd --system {ServiceAccount}) or run as a non-root user.");
        // struct passwd { char *pw_name; char *pw_passwd; uid_t pw_uid; gid_t pw_gid; ... }
        var uid = (uint)Marshal.ReadInt32(entry, 2 * IntPtr.Size);
        var gid = (uint)Marshal.ReadInt32(entry, 2 * IntPtr.Size + 4);
        return (uid, gid);
    }

    [DllImport("libc")]
    private static extern uint geteuid();

    [DllImport("libc", SetLastError = true)]
    private static extern IntPtr getpwnam(string name);

    [DllImport("libc", SetLastError = true)]
    private static extern int chown(string path, uint owner, uint group);
}
