using System.Net.Http.Headers;
using System.Text;

namespace TrainedModelsOrleans.Bench;

/// <summary>
/// The benchmarks' nodes run with security on, as shipped: a known elastic password (the default PBKDF2 count; each
/// client verifies once, then hits the node's authentication cache), and every client sends it.
/// </summary>
public static class BenchSecurity
{
    public const string ElasticPassword = "bench-elastic-password";

    public static readonly string[] Arguments = [$"--Security:ElasticPassword={ElasticPassword}"];

    public static readonly AuthenticationHeaderValue Authorization =
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"elastic:{ElasticPassword}")));

    public static HttpClient Client(Uri baseAddress, TimeSpan? timeout = null)
    {
        var http = new HttpClient { BaseAddress = baseAddress, Timeout = timeout ?? TimeSpan.FromSeconds(100) };
        http.DefaultRequestHeaders.Authorization = Authorization;
        return http;
    }
}
