using System.Text.Json.Nodes;
using Xunit;

namespace TrainedModelsOrleans.Api.Tests;

/// <summary>Ids in paths and parameters, of any length or shape, answer Elasticsearch's 4xx and change nothing.</summary>
public sealed class IdTests(ServiceFixture service) : IClassFixture<ServiceFixture>
{
    private static readonly string Huge = new('x', 3000);

    [Theory]
    [InlineData("_all")]
    [InlineData("*")]
    [InlineData("..%2Fx")]
    [InlineData("ABC")]
    [InlineData("%2F")]
    [InlineData("%00")]
    public async Task A_deployment_id_that_breaks_the_id_rules_is_refused_with_400(string deploymentId)
    {
        var model = await service.UploadModelAsync("ids");
        var response = await service.PostAsync($"/_ml/trained_models/{model}/deployment/_start?deployment_id={deploymentId}");
        response.AssertError(400, "action_request_validation_exception", "Invalid deployment_id");
        Assert.Equal(0, await service.CountAsync("SELECT count(*) FROM ml_deployments WHERE model_id = $1", model));
    }

    [Fact]
    public async Task An_id_of_any_length_in_any_path_answers_a_4xx()
    {
        var model = await service.UploadModelAsync("long-ids");
        var answers = new[]
        {
            await service.GetAsync($"/_ml/trained_models/{Huge}"),
            await service.GetAsync($"/_ml/trained_models/{Huge}/_stats"),
            await service.PutAsync($"/_ml/trained_models/{Huge}", TestSupport.ModelUploads.OnnxConfig()),
            await service.DeleteAsync($"/_ml/trained_models/{Huge}"),
            await service.PostAsync($"/_ml/trained_models/{Huge}/deployment/_start"),
            await service.PostAsync($"/_ml/trained_models/{model}/deployment/_start?deployment_id={Huge}"),
            await service.PostAsync($"/_ml/trained_models/{Huge}/deployment/_update", new JsonObject { ["number_of_allocations"] = 1 }),
            await service.PostAsync($"/_ml/trained_models/{Huge}/deployment/_stop?allow_no_match=false"),
            await service.PutAsync($"/_ml/trained_models/{model}/model_aliases/{Huge}"),
            await service.DeleteAsync($"/_ml/trained_models/{model}/model_aliases/{Huge}"),
            await service.PostAsync($"/_ml/trained_models/{Huge}/_infer", new JsonObject { ["docs"] = new JsonArray(new JsonObject { ["input"] = "x" }) }),
        };
        Assert.All(answers, a => Assert.InRange((int)a.Status, 400, 499));
        Assert.All(answers, a => Assert.NotNull(a.Body["error"]?["type"]));
        Assert.Equal(0, await service.CountAsync("SELECT count(*) FROM orleansstorage WHERE length(grainidextensionstring) > 600"));
    }
}
