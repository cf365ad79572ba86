using System.Net.Http.Headers;
using System.Text;

namespace TrainedModelsOrleans.TestSupport;

/// <summary>
/// How tests reach a secured service: every node starts with a known elastic password (and a low PBKDF2 count, so
/// the many nodes tests start do not spend seconds hashing), and every test client sends it.
/// </summary>
public static class TestSecurity
{
    public const string ElasticUser = "elastic";
    public const string ElasticPassword = "test-elastic-password";
    public const int PasswordHashIterations = 10_000;

    /// <summary>The settings every node a test starts gets (in process or as its own process).</summary>
    public static readonly string[] Arguments =
        [$"--Security:ElasticPassword={ElasticPassword}", $"--Security:PasswordHashIterations={PasswordHashIterations}"];

    public static AuthenticationHeaderValue Basic(string user, string password) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));

    public static AuthenticationHeaderValue ApiKey(string encoded) => new("ApiKey", encoded);

    public static AuthenticationHeaderValue Elastic => Basic(ElasticUser, ElasticPassword);

    /// <summary>A client of a node that authenticates as elastic on every request.</summary>
    public static HttpClient Client(Uri baseAddress, TimeSpan? timeout = null, AuthenticationHeaderValue? authorization = null,
        HttpMessageHandler? handler = null)
    {
        var http = new HttpClient(handler ?? new SocketsHttpHandler()) { BaseAddress = baseAddress, Timeout = timeout ?? TimeSpan.FromSeconds(100) };
        http.DefaultRequestHeaders.Authorization = authorization ?? Elastic;
        return http;
    }
}
