using System.Net.Http.Headers;
using System.Text;

namespace TrainedModelsOrleans.Cli.Service;

/// <summary>
/// Where the service is and how to authenticate: credentials are sent as Elasticsearch clients send them, Basic for a
/// user and password, <c>ApiKey</c> for an encoded API key (the service's security refuses requests without them).
/// </summary>
public sealed record ServiceConnection(Uri Url, string? User = null, string? Password = null, string? ApiKey = null)
{
    public static readonly Uri DefaultUrl = new("http://127.0.0.1:9200");

    /// <summary>Long enough for one part of a large model, or a start that waits for its allocations.</summary>
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromMinutes(2);

    public AuthenticationHeaderValue? Authorization =>
        ApiKey is { Length: > 0 } key ? new AuthenticationHeaderValue("ApiKey", key)
        : User is { Length: > 0 } user ? new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{Password}")))
        : null;

    public HttpClient CreateHttpClient(HttpMessageHandler? handler = null)
    {
        var http = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: true);
        http.BaseAddress = Url;
        http.Timeout = RequestTimeout;
        http.DefaultRequestHeaders.Authorization = Authorization;
        return http;
    }
}
