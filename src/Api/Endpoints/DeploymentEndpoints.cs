using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using System.Text.Json.Nodes;
using TrainedModelsOrleans.Api.Http;
using TrainedModelsOrleans.Grains.Aliases;
using TrainedModelsOrleans.Grains.Deployments;
using Orleans;

namespace TrainedModelsOrleans.Api.Endpoints;

/// <summary>Deployments (start, update, stop, cache clear) and model aliases.</summary>
public static class DeploymentEndpoints
{
    public static IEndpointRouteBuilder MapDeploymentEndpoints(this IEndpointRouteBuilder app)
    {
        var models = app.MapGroup("/_ml/trained_models");

        // The query and body are read into the typed request here (ES's parse errors answer 400 before any grain call);
        // the grain validates the request with ES's rules and answers typed values, rendered here as ES renders them.
        models.MapPost("/{model_id}/deployment/_start", async (string model_id, HttpRequest request, IGrainFactory grains) =>
        {
            var body = await RequestBody.ReadBytesAsync(request, required: false);
            var start = StartDeploymentSettings.Parse(model_id, QueryParameters.All(request), body).ToRequest();
            var assignment = await grains.GetGrain<IDeploymentGrain>(start.DeploymentId!).Start(start);
            Warnings.Add(request.HttpContext.Response, start.Warnings);
            return ElasticsearchJson.Ok(AssignmentJson.Response(assignment));
        });

        models.MapPost("/{deployment_id}/deployment/_update", async (string deployment_id, HttpRequest request, IGrainFactory grains) =>
        {
            var body = await RequestBody.ReadBytesAsync(request, required: false);
            var update = UpdateDeploymentSettings.Parse(deployment_id, QueryParameters.All(request), body).ToRequest();
            var assignment = await grains.GetGrain<IDeploymentGrain>(update.DeploymentId).Update(update);
            Warnings.Add(request.HttpContext.Response, update.Warnings);
            return ElasticsearchJson.Ok(AssignmentJson.Response(assignment));
        });

        models.MapPost("/{deployment_id}/deployment/_stop", async (string deployment_id, HttpRequest request, IGrainFactory grains) =>
        {
            var body = await RequestBody.ReadBytesAsync(request, required: false);
            var stop = StopDeploymentSettings.Parse(deployment_id, QueryParameters.All(request), body).ToRequest();
            await grains.GetGrain<IDeploymentGrain>(stop.DeploymentId).Stop(stop);
            return ElasticsearchJson.Ok(new JsonObject { ["stopped"] = true });
        });

        models.MapPost("/{deployment_id}/deployment/cache/_clear", async (string deployment_id, IGrainFactory grains) =>
        {
            await grains.GetGrain<IDeploymentGrain>(deployment_id).ClearCache();
            return ElasticsearchJson.Ok(new JsonObject { ["cleared"] = true });
        });

        models.MapPut("/{model_id}/model_aliases/{model_alias}", async (string model_id, string model_alias, HttpRequest request, IGrainFactory grains) =>
        {
            var put = ModelAliasSettings.Parse(model_id, model_alias, QueryParameters.All(request)).ToRequest();
            Warnings.Add(request.HttpContext.Response, await grains.GetGrain<IModelAliasGrain>(model_alias).Put(put));
            return ElasticsearchJson.Acknowledged();
        });

        models.MapDelete("/{model_id}/model_aliases/{model_alias}", async (string model_id, string model_alias, IGrainFactory grains) =>
        {
            await grains.GetGrain<IModelAliasGrain>(model_alias).Delete(model_id);
            return ElasticsearchJson.Acknowledged();
        });
        return app;
    }
}
