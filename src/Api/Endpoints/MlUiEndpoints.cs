using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Orleans;
using TrainedModelsOrleans.Api.Http;
using TrainedModelsOrleans.Api.Ui;
using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.ModelStore;
using TrainedModelsOrleans.Grains.Models;

namespace TrainedModelsOrleans.Api.Endpoints;

/// <summary>
/// The operator's ML page: <c>GET /_ml/ui</c> and its files, and <c>GET /_ml/ui/api/cluster</c>, the node and alias
/// data no Elasticsearch API of ours exposes (each node's processors and memory, offered and used; every alias). The
/// page reads everything else from the ES APIs themselves (<c>_stats</c>, <c>trained_models</c>, <c>_ml/info</c>).
/// </summary>
public static class MlUiEndpoints
{
    public static IEndpointRouteBuilder MapMlUiEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/_ml/ui", (HttpContext context) => Serve(context, UiAssets.IndexName));
        app.MapGet("/_ml/ui/{asset}", (string asset, HttpContext context) => Serve(context, asset));

        // Read from the grains _stats reads: the live nodes' offers, the coordinator's committed assignments, the namespace.
        app.MapGet("/_ml/ui/api/cluster", async (IGrainFactory grains) =>
        {
            var offers = grains.GetGrain<IModelStoreGrain>("models").GetMlNodes();
            var assignments = grains.GetGrain<IAssignmentCoordinatorGrain>(AssignmentCoordinatorGrain.Key).GetAssignments();
            var ids = grains.GetGrain<IMlIdsGrain>(IMlIdsGrain.Key).GetCommitted();
            await Task.WhenAll(offers, assignments, ids);
            return ElasticsearchJson.Ok(RenderCluster(NodeUsage.Of(await offers, await assignments), await ids));
        });
        return app;
    }

    private static JsonObject RenderCluster(IReadOnlyList<NodeUsage> nodes, IReadOnlyDictionary<string, MlIdEntry> ids)
    {
        var rendered = new JsonArray();
        foreach (var node in nodes)
        {
            var routes = new JsonArray();
            foreach (var route in node.Routes)
                routes.Add(new JsonObject
                {
                    ["deployment_id"] = route.DeploymentId,
                    ["model_id"] = route.ModelId,
                    ["number_of_allocations"] = route.Allocations,
                    ["threads_per_allocation"] = route.ThreadsPerAllocation,
                    ["priority"] = EsNames.Of(route.Priority),
                    ["routing_state"] = EsNames.Of(route.State),
                });
            rendered.Add(new JsonObject
            {
                ["name"] = node.Node,
                ["allocated_processors"] = node.AllocatedProcessors,
                ["used_processors"] = node.UsedProcessors,
                ["low_priority_threads"] = node.LowPriorityThreads,
                ["memory_bytes"] = node.MemoryBytes,
                ["used_memory_bytes"] = node.UsedMemoryBytes,
                ["routes"] = routes,
            });
        }
        var aliases = new JsonObject();
        foreach (var (alias, entry) in ids.Where(i => i.Value.Kind == MlIdEntry.Alias).OrderBy(i => i.Key, StringComparer.Ordinal))
            aliases[alias] = entry.ModelId;
        return new JsonObject { ["nodes"] = rendered, ["model_aliases"] = aliases };
    }

    /// <summary>
    /// An embedded file with its media type. Revalidated on every load (no-cache with a strong ETag, 304 when unchanged):
    /// the files are small, and an upgraded service must not run an old page against a new API.
    /// </summary>
    private static IResult Serve(HttpContext context, string name)
    {
        if (UiAssets.Find(name) is not { } asset)
            throw new Grains.Errors.ElasticsearchException(404, "resource_not_found_exception", $"no file [{name}] in the ML page");
        var headers = context.Response.Headers;
        headers.CacheControl = "no-cache";
        headers.ETag = asset.ETag;
        headers.XContentTypeOptions = "nosniff";
        if (context.Request.Headers.IfNoneMatch.Any(v => v is not null && v.Split(',').Any(tag => tag.Trim() == asset.ETag)))
            return Results.StatusCode(StatusCodes.Status304NotModified);
        return Results.Bytes(asset.Content, asset.ContentType);
    }
}
