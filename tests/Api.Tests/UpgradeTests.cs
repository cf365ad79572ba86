using System.Text.Json.Nodes;
using TrainedModelsOrleans.TestSupport;
using Xunit;

namespace TrainedModelsOrleans.Api.Tests;

/// <summary>A database written by the home-made runtime: its grain_state and ml_ids rows, kept by db/0007 as legacy_*.</summary>
public sealed class UpgradeFixture : ServiceFixture
{
    public const string Model = "legacy-model";
    public const string Alias = "legacy-alias";
    public const string Deployment = "legacy-deployment";

    protected override async Task BeforeFirstStartAsync(TestDatabase database)
    {
        var config = ModelUploads.OnnxConfig();
        config["model_id"] = Model;
        config["model_type"] = "onnx";
        config["task_type"] = "pass_through";
        config["tags"] = new JsonArray("old");
        config["create_time"] = 1_700_000_000_000;
        var record = new JsonObject { ["Config"] = config, ["Progress"] = null, ["InlineDefinition"] = null, ["HasVocabulary"] = false };
        // db/0001 and 0002 created grain_state and ml_ids; 0007 kept them as legacy_* (a fresh database has them empty).
        await database.ExecuteAsync("INSERT INTO legacy_grain_state VALUES ('trainedmodel', @id, 'config', @payload::jsonb, 3, now())",
            ("id", Model), ("payload", record.ToJsonString()));
        await database.ExecuteAsync("INSERT INTO legacy_grain_state VALUES ('deployment', @id, 'assignment', '{}'::jsonb, 1, now())", ("id", Deployment));
        await database.ExecuteAsync("INSERT INTO legacy_ml_ids VALUES (@m, 'model', @m), (@a, 'alias', @m)", ("m", Model), ("a", Alias));
    }
}

public sealed class UpgradeTests(UpgradeFixture service) : IClassFixture<UpgradeFixture>
{
    [Fact]
    public async Task Models_and_aliases_of_the_previous_runtime_are_imported_into_the_grains_and_the_legacy_tables_go()
    {
        // The import runs as the node starts; wait for it (bounded).
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (await service.CountAsync("SELECT count(*) FROM pg_tables WHERE tablename IN ('legacy_grain_state', 'legacy_ml_ids')") > 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the legacy tables are still there");
            await Task.Delay(50);
        }

        var model = (await service.GetAsync($"/_ml/trained_models/{UpgradeFixture.Model}")).AssertOk().Body["trained_model_configs"]![0]!;
        Assert.Equal(1_700_000_000_000, model["create_time"]!.GetValue<long>());
        Assert.Equal("old", model["tags"]![0]!.GetValue<string>());
        Assert.Equal(1, await service.CountAsync("SELECT count(*) FROM ml_models WHERE model_id = $1", UpgradeFixture.Model));
        Assert.Equal(1, await service.CountAsync("SELECT count(*) FROM ml_ids WHERE id = $1 AND kind = 'alias' AND model_id = $2", UpgradeFixture.Alias, UpgradeFixture.Model));
        // Through the alias, the model answers as itself: not deployed (deployments are not carried over).
        (await service.PostAsync($"/_ml/trained_models/{UpgradeFixture.Alias}/_infer", new JsonObject { ["docs"] = new JsonArray(new JsonObject { ["input"] = "x" }) }))
            .AssertError(409, "status_exception", "must be deployed to use");
        Assert.Equal(0, await service.CountAsync("SELECT count(*) FROM ml_deployments WHERE deployment_id = $1", UpgradeFixture.Deployment));
    }
}
