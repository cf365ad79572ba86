using Microsoft.AspNetCore.Http;
using TrainedModelsOrleans.Api.Endpoints;

namespace TrainedModelsOrleans.Api.Http;

/// <summary>Elasticsearch's deprecation/warning header: 299 Elasticsearch-&lt;version&gt; "&lt;text&gt;".</summary>
public static class Warnings
{
    public static void Add(HttpResponse response, IEnumerable<string> warnings)
    {
        foreach (var warning in warnings)
            response.Headers.Append("Warning", $"299 Elasticsearch-{RootEndpoints.CompatibleVersion} \"{warning.Replace("\"", "\\\"", StringComparison.Ordinal)}\"");
    }
}
