using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using TrainedModelsOrleans.Api.Http;
using TrainedModelsOrleans.Grains.Deployments;
using Orleans;

namespace TrainedModelsOrleans.Api.Endpoints;

/// <summary>Deployments (start, update, stop) and model aliases.</summary>
public static class DeploymentEndpoints
{
    public static IEndpointRouteBuilder MapDeploymentEndpoints(this IEndpointRouteBuilder app)
    {
        var models = app.MapGroup("/_ml/trained_models");

        models.MapPost("/{model_id}/deployment/_start", async (string model_id, HttpRequest request, IGrainFactory grains) =>
        {
            var query = QueryParameters.All(request);
            // deployment_id is a query parameter (ES), defaulting to the model id; the grain validates it.
            var deploymentId = query.TryGetValue("deployment_id", out var given) && !string.IsNullOrEmpty(given) ? given : model_id;
            var body = await RequestBody.ReadBytesAsync(request, required: false);
            var response = await grains.GetGrain<IDeploymentGrain>(deploymentId).Start(model_id, query, body);
            Warnings.Add(request.HttpContext.Response, response.Warnings);
            return ElasticsearchJson.Ok(response.Body);
        });

        models.MapPost("/{deployment_id}/deployment/_update", async (string deployment_id, HttpRequest request, IGrainFactory grains) =>
        {
            var body = await RequestBody.ReadBytesAsync(request, required: false);
            return ElasticsearchJson.Ok(await grains.GetGrain<IDeploymentGrain>(deployment_id).Update(QueryParameters.All(request), body));
        });

        models.MapPost("/{deployment_id}/deployment/_stop", async (string deployment_id, HttpRequest request, IGrainFactory grains) =>
        {
            var body = await RequestBody.ReadBytesAsync(request, required: false);
            return ElasticsearchJson.Ok(await grains.GetGrain<IDeploymentGrain>(deployment_id).Stop(QueryParameters.All(request), body));
        });

        models.MapPut("/{model_id}/model_aliases/{model_alias}", async (string model_id, string model_alias, HttpRequest request, IGrainFactory grains) =>
        {
            var response = await grains.GetGrain<IModelAliasGrain>(model_alias).Put(model_id, QueryParameters.All(request));
            Warnings.Add(request.HttpContext.Response, response.Warnings);
            return ElasticsearchJson.Ok(response.Body);
        });

        models.MapDelete("/{model_id}/model_aliases/{model_alias}", async (string model_id, string model_alias, IGrainFactory grains) =>
        {
            await grains.GetGrain<IModelAliasGrain>(model_alias).Delete(model_id);
            return ElasticsearchJson.Acknowledged();
        });
        return app;
    }
}
