using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Orleans;
using TrainedModelsOrleans.Api.Http;
using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.ModelStore;

namespace TrainedModelsOrleans.Api.Endpoints;

/// <summary>GET _ml/info: ML's defaults and the limits the live ML nodes give (see <see cref="MlInfo"/>).</summary>
public static class MlInfoEndpoints
{
    public static IEndpointRouteBuilder MapMlInfoEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/_ml/info", async (IGrainFactory grains) =>
        {
            var nodes = await grains.GetGrain<IModelStoreGrain>("models").GetMlNodes();
            return ElasticsearchJson.Ok(MlInfo.Render(nodes, RootEndpoints.CompatibleVersion, RootEndpoints.ThisAssembly.InformationalVersion));
        });
        return app;
    }
}
