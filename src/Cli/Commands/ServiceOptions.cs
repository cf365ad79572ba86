using System.CommandLine;
using TrainedModelsOrleans.Cli.Service;

namespace TrainedModelsOrleans.Cli.Commands;

/// <summary>The options every command takes to reach the service (declared once on the root, recursive).</summary>
public sealed class ServiceOptions
{
    /// <summary>Read as text: System.CommandLine has no converter for Uri.</summary>
    public Option<string> Url { get; } = new("--url")
    {
        Description = "The service's HTTP API",
        DefaultValueFactory = _ => ServiceConnection.DefaultUrl.ToString(),
        Recursive = true,
    };

    public Option<string?> User { get; } = new("--user") { Description = "User name for Basic authentication (e.g. elastic)", Recursive = true };
    public Option<string?> Password { get; } = new("--password") { Description = "Password for Basic authentication", Recursive = true };
    public Option<string?> ApiKey { get; } = new("--api-key") { Description = "An encoded API key, sent as 'Authorization: ApiKey <key>'", Recursive = true };
    public Option<string?> CaCertificate { get; } = new("--ca-certificate")
    {
        Description = "A PEM file of the certificate authority an https --url's certificate must chain to (default: the system's)",
        Recursive = true,
    };

    public void AddTo(Command root)
    {
        root.Add(Url);
        root.Add(User);
        root.Add(Password);
        root.Add(ApiKey);
        root.Add(CaCertificate);
    }

    public ServiceConnection Connection(ParseResult parse)
    {
        var url = parse.GetValue(Url);
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
            throw new ArgumentException($"--url must be an http or https address, not [{url}]");
        var caCertificate = parse.GetValue(CaCertificate);
        if (caCertificate is not null && !File.Exists(caCertificate)) throw new ArgumentException($"--ca-certificate [{caCertificate}] does not exist");
        if (caCertificate is not null && uri.Scheme != "https") throw new ArgumentException($"--ca-certificate is for an https --url, not [{url}]");
        return new ServiceConnection(uri, parse.GetValue(User), parse.GetValue(Password), parse.GetValue(ApiKey), caCertificate);
    }
}
