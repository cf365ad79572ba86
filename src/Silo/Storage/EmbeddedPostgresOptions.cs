namespace TrainedModelsOrleans.Silo.Storage;

/// <summary>Where and how <see cref="EmbeddedPostgres"/> runs a private PostgreSQL cluster.</summary>
public sealed class EmbeddedPostgresOptions
{
    /// <summary>
    /// The cluster folder (for example <c>&lt;data&gt;/postgres</c>). Its parent holds the files that
    /// must live outside the cluster: <c>&lt;name&gt;.password</c> (0600, read by this process) and
    /// <c>&lt;name&gt;.log</c> (the server log).
    /// </summary>
    public string DataDirectory { get; set; } = "";

    /// <summary>The application database, created when missing.</summary>
    public string DatabaseName { get; set; } = "trained_models";

    /// <summary>Loopback port to listen on; null picks a free one (and retries if it gets taken).</summary>
    public int? Port { get; set; }

    /// <summary>Stop the server on dispose, but only if this instance started it (never a reused one).</summary>
    public bool StopOnDispose { get; set; } = true;

    /// <summary>Folder holding initdb / pg_ctl; null resolves them through PATH.</summary>
    public string? BinDirectory { get; set; }

    /// <summary>
    /// Extra server settings passed as <c>-c name=value</c>, overriding the defaults
    /// (fsync=on, max_connections=300). Tests turn durability off here for speed.
    /// </summary>
    public Dictionary<string, string> ServerSettings { get; } = new(StringComparer.Ordinal);

    /// <summary>Upper bound on initdb, on pg_ctl start (which waits for "ready") and on pg_ctl stop.</summary>
    public TimeSpan ProcessTimeout { get; set; } = TimeSpan.FromSeconds(90);

    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(DataDirectory))
            throw new ArgumentException("DataDirectory must name the cluster folder.", nameof(DataDirectory));
        PostgresDatabases.ValidateName(DatabaseName);
        if (Port is < 1 or > 65535)
            throw new ArgumentOutOfRangeException(nameof(Port), Port, "Port must be between 1 and 65535.");
        if (ProcessTimeout <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(ProcessTimeout), ProcessTimeout, "ProcessTimeout must be positive.");
        foreach (var (name, value) in ServerSettings)
        {
            // They end up inside a shell command line that pg_ctl builds, single-quoted.
            if (name.Length == 0 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.'))
                throw new ArgumentException($"Server setting name '{name}' is not a PostgreSQL parameter name.", nameof(ServerSettings));
            if (value.Contains('\'') || value.Contains('\\'))
                throw new ArgumentException($"Server setting {name} must not contain quotes or backslashes.", nameof(ServerSettings));
        }
    }
}
