using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using TrainedModelsOrleans.Api.Http;

namespace TrainedModelsOrleans.Api.Endpoints;

/// <summary>GET / : the cluster info document the Elasticsearch clients read on connect.</summary>
public static class RootEndpoints
{
    /// <summary>The Elasticsearch version whose ML API we speak (defaults follow the 8.9 docs).</summary>
    public const string CompatibleVersion = "8.9.0";

    public static IEndpointRouteBuilder MapRootEndpoints(this IEndpointRouteBuilder app, ApiIdentity identity)
    {
        app.MapMethods("/", [HttpMethods.Get, HttpMethods.Head], async () => ElasticsearchJson.Ok(new JsonObject
        {
            ["name"] = identity.NodeName,
            ["cluster_name"] = identity.ClusterName,
            ["cluster_uuid"] = await identity.ClusterUuidAsync(),
            ["version"] = new JsonObject
            {
                ["number"] = CompatibleVersion,
                ["build_flavor"] = "default",
                ["build_type"] = "trained-models-orleans",
                ["build_hash"] = ThisAssembly.InformationalVersion,
                ["build_date"] = ThisAssembly.BuildDate,
                ["build_snapshot"] = false,
                ["lucene_version"] = "9.7.0",
                ["minimum_wire_compatibility_version"] = "7.17.0",
                ["minimum_index_compatibility_version"] = "7.0.0",
            },
            ["tagline"] = "You Know, for Search",
        }));
        return app;
    }

    internal static class ThisAssembly
    {
        private static readonly System.Reflection.Assembly Assembly = typeof(RootEndpoints).Assembly;

        public static string InformationalVersion { get; } =
            (System.Reflection.CustomAttributeExtensions.GetCustomAttribute<System.Reflection.AssemblyInformationalVersionAttribute>(Assembly)
                ?.InformationalVersion ?? "unknown");

        public static string BuildDate { get; } =
            File.GetLastWriteTimeUtc(Assembly.Location).ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", System.Globalization.CultureInfo.InvariantCulture);
    }
}

/// <summary>
/// Who answers: shown by GET / . The cluster uuid is asked for once, when first shown (an API-only process can
/// ask the cluster only after its Orleans client has connected); a failed attempt is asked again next time.
/// </summary>
public sealed class ApiIdentity(string nodeName, string clusterName, Func<Task<string>> readClusterUuid)
{
    private Task<string>? _clusterUuid;

    public string NodeName { get; } = nodeName;
    public string ClusterName { get; } = clusterName;

    public async Task<string> ClusterUuidAsync()
    {
        var read = _clusterUuid ??= readClusterUuid();
        try
        {
            return await read;
        }
        catch
        {
            _ = Interlocked.CompareExchange(ref _clusterUuid, null, read);
            throw;
        }
    }
}
