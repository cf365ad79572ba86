using Microsoft.Extensions.DependencyInjection;
using Orleans;
using Orleans.Transactions;
using TrainedModelsOrleans.Grains.Models;
using System.Text.Json.Nodes;
using Npgsql;
using TrainedModelsOrleans.TestModels;
using Xunit;

namespace TrainedModelsOrleans.Api.Tests;

public sealed class ModelStoreTests(ServiceFixture service) : IClassFixture<ServiceFixture>
{
    private static string NewId(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(40, prefix.Length + 33)];

    [Fact]
    public async Task Put_stores_the_config_with_elasticsearch_defaults()
    {
        var id = NewId("defaults");
        var body = (await service.PutAsync($"/_ml/trained_models/{id}", ModelUploads.OnnxConfig())).AssertOk().Body;

        Assert.Equal(id, body["model_id"]!.GetValue<string>());
        Assert.Equal("onnx", body["model_type"]!.GetValue<string>());
        Assert.Equal("api_user", body["created_by"]!.GetValue<string>());
        Assert.True(body["create_time"]!.GetValue<long>() > 0);
        Assert.NotNull(body["inference_config"]!["pass_through"]);
        Assert.Equal(1, await CountAsync("SELECT count(*) FROM ml_ids WHERE id = $1 AND kind = 'model'", id));
        Assert.Equal(1, await CountAsync("SELECT count(*) FROM ml_models WHERE model_id = $1", id));
    }

    [Fact]
    public async Task Onnx_definition_uploaded_in_parts_in_any_order_records_the_graph_signature()
    {
        var id = NewId("mlp");
        (await service.PutAsync($"/_ml/trained_models/{id}", ModelUploads.OnnxConfig())).AssertOk();
        var definition = TestOnnxModels.Mlp();
        var parts = ModelUploads.Parts(definition, 4);
        foreach (var index in new[] { 2, 0 })
            (await service.PutAsync($"/_ml/trained_models/{id}/definition/{index}", parts[index])).AssertOk();

        // Our extension for resuming uploads: while incomplete, include=definition_status lists the stored parts.
        var partial = (await service.GetAsync($"/_ml/trained_models/{id}?include=definition_status")).AssertOk().Body["trained_model_configs"]![0]!;
        Assert.False(partial["fully_defined"]!.GetValue<bool>());
        Assert.Equal($$"""{"total_parts":4,"total_definition_length":{{definition.Length}},"stored_parts":[0,2]}""", partial["definition_parts"]!.ToJsonString());
        Assert.Null((await service.GetAsync($"/_ml/trained_models/{id}")).AssertOk().Body["trained_model_configs"]![0]!["definition_parts"]);

        foreach (var index in new[] { 3, 1 })
            (await service.PutAsync($"/_ml/trained_models/{id}/definition/{index}", parts[index])).AssertOk();

        var config = (await service.GetAsync($"/_ml/trained_models/{id}?include=definition_status")).AssertOk().Body["trained_model_configs"]![0]!;
        Assert.True(config["fully_defined"]!.GetValue<bool>());
        Assert.Null(config["definition_parts"]);
        var input = config["onnx"]!["inputs"]![0]!;
        Assert.Equal("input", input["name"]!.GetValue<string>());
        Assert.Equal("float", input["element_type"]!.GetValue<string>());
        Assert.Equal("[-1,64]", input["shape"]!.ToJsonString());
        Assert.Equal("probs", config["onnx"]!["outputs"]![0]!["name"]!.GetValue<string>());
        Assert.Equal(4, await CountAsync("SELECT count(*) FROM model_definition_parts WHERE model_id = $1", id));
    }

    [Fact]
    public async Task A_definition_onnx_runtime_cannot_open_is_refused_with_its_message_and_the_model_stays_not_ready()
    {
        var id = NewId("garbage");
        (await service.PutAsync($"/_ml/trained_models/{id}", ModelUploads.OnnxConfig())).AssertOk();
        var parts = ModelUploads.Parts(TestOnnxModels.Garbage(4096), 2);
        (await service.PutAsync($"/_ml/trained_models/{id}/definition/0", parts[0])).AssertOk();

        (await service.PutAsync($"/_ml/trained_models/{id}/definition/1", parts[1]))
            .AssertError(400, "status_exception", "protobuf parsing failed");

        var config = (await service.GetAsync($"/_ml/trained_models/{id}?include=definition_status")).AssertOk().Body["trained_model_configs"]![0]!;
        Assert.False(config["fully_defined"]!.GetValue<bool>());
        Assert.Null(config["onnx"]);
        Assert.Equal(1, await CountAsync("SELECT count(*) FROM model_definition_parts WHERE model_id = $1", id));
    }

    [Fact]
    public async Task A_graph_with_an_unknown_operator_is_refused_with_onnx_runtimes_message()
    {
        var id = NewId("unknown-op");
        (await service.PutAsync($"/_ml/trained_models/{id}", ModelUploads.OnnxConfig())).AssertOk();
        var part = ModelUploads.Parts(TestOnnxModels.WithUnknownOp(), 1)[0];
        (await service.PutAsync($"/_ml/trained_models/{id}/definition/0", part)).AssertError(400, "status_exception", "NoSuchOp");
    }

    [Fact]
    public async Task Duplicate_part_is_refused_and_changes_nothing()
    {
        var id = NewId("dup-part");
        (await service.PutAsync($"/_ml/trained_models/{id}", ModelUploads.OnnxConfig())).AssertOk();
        var parts = ModelUploads.Parts(TestOnnxModels.Mlp(), 3);
        (await service.PutAsync($"/_ml/trained_models/{id}/definition/1", parts[1])).AssertOk();
        (await service.PutAsync($"/_ml/trained_models/{id}/definition/1", parts[1]))
            .AssertError(400, "resource_already_exists_exception", "already exists");
        Assert.Equal(1, await CountAsync("SELECT count(*) FROM model_definition_parts WHERE model_id = $1", id));
    }

    [Fact]
    public async Task Parts_with_inconsistent_totals_are_refused()
    {
        var id = NewId("totals");
        (await service.PutAsync($"/_ml/trained_models/{id}", ModelUploads.OnnxConfig())).AssertOk();
        var parts = ModelUploads.Parts(TestOnnxModels.Mlp(), 3);
        (await service.PutAsync($"/_ml/trained_models/{id}/definition/0", parts[0])).AssertOk();
        var wrong = parts[1].DeepClone().AsObject();
        wrong["total_parts"] = 4;
        (await service.PutAsync($"/_ml/trained_models/{id}/definition/1", wrong))
            .AssertError(400, "status_exception", "[total_parts] must be the same in all model definition parts");
    }

    [Fact]
    public async Task Definition_part_for_a_missing_model_is_not_found()
    {
        var part = ModelUploads.Parts(TestOnnxModels.Mlp(), 1)[0];
        (await service.PutAsync("/_ml/trained_models/no-such-model/definition/0", part))
            .AssertError(404, "resource_not_found_exception", "Could not find trained model [no-such-model]");
    }

    [Fact]
    public async Task Invalid_model_id_is_refused()
    {
        (await service.PutAsync("/_ml/trained_models/Bad_Id", ModelUploads.OnnxConfig()))
            .AssertError(400, "action_request_validation_exception", "Invalid model_id; 'Bad_Id' can contain lowercase alphanumeric");
        (await service.PutAsync("/_ml/trained_models/" + new string('a', 65), ModelUploads.OnnxConfig()))
            .AssertError(400, "action_request_validation_exception", "cannot contain more than 64 characters");
    }

    [Fact]
    public async Task Unknown_field_malformed_json_and_pytorch_are_refused_and_store_nothing()
    {
        var id = NewId("bad-body");
        var unknown = ModelUploads.OnnxConfig();
        unknown["no_such_field"] = 1;
        (await service.PutAsync($"/_ml/trained_models/{id}", unknown))
            .AssertError(400, "x_content_parse_exception", "unknown field [no_such_field]");
        (await service.PutAsync($"/_ml/trained_models/{id}", "{\"model_type\": "))
            .AssertError(400, "x_content_parse_exception", "");
        var pytorch = ModelUploads.OnnxConfig();
        pytorch["model_type"] = "pytorch";
        (await service.PutAsync($"/_ml/trained_models/{id}", pytorch)).AssertError(400, "illegal_argument_exception", "[model_type] [pytorch] is not supported");
        (await service.SendAsync(HttpMethod.Put, $"/_ml/trained_models/{id}")).AssertError(400, "parse_exception", "request body is required");

        Assert.Equal(0, await CountAsync("SELECT count(*) FROM ml_ids WHERE id = $1", id));
        (await service.GetAsync($"/_ml/trained_models/{id}")).AssertError(404, "resource_not_found_exception", id);
    }

    [Fact]
    public async Task Put_of_an_existing_model_is_refused()
    {
        var id = NewId("twice");
        (await service.PutAsync($"/_ml/trained_models/{id}", ModelUploads.OnnxConfig())).AssertOk();
        (await service.PutAsync($"/_ml/trained_models/{id}", ModelUploads.OnnxConfig()))
            .AssertError(400, "resource_already_exists_exception", $"Trained machine learning model [{id}] already exists");
    }

    [Fact]
    public async Task Concurrent_puts_of_one_id_let_exactly_one_succeed()
    {
        for (var round = 0; round < 5; round++)
        {
            var id = NewId("race");
            var responses = await Task.WhenAll(Enumerable.Range(0, 8)
                .Select(_ => service.PutAsync($"/_ml/trained_models/{id}", ModelUploads.OnnxConfig())));
            Assert.Single(responses, r => r.Status == System.Net.HttpStatusCode.OK);
            foreach (var refused in responses.Where(r => r.Status != System.Net.HttpStatusCode.OK))
                refused.AssertError(400, "resource_already_exists_exception", "already exists");
            Assert.Equal(1, await CountAsync("SELECT count(*) FROM ml_ids WHERE id = $1", id));
        }
    }

    [Fact]
    public async Task Model_ids_share_one_namespace_with_aliases_and_deployments()
    {
        var alias = NewId("taken-by-alias");
        var deployment = NewId("taken-by-deployment");
        // Held in the namespace by another model's alias and deployment (claimed as the alias grain and the coordinator do).
        var someone = NewId("someone");
        (await service.PutAsync($"/_ml/trained_models/{someone}", ModelUploads.OnnxConfig())).AssertOk();
        var ids = service.Node.Services.GetRequiredService<IGrainFactory>().GetGrain<IMlIdsGrain>(IMlIdsGrain.Key);
        await service.Node.Services.GetRequiredService<ITransactionClient>().RunTransaction(TransactionOption.Create, async () =>
        {
            await ids.Claim(alias, MlIdEntry.ForAlias(someone));
            await ids.ClaimDeployment(deployment, someone);
        });

        (await service.PutAsync($"/_ml/trained_models/{alias}", ModelUploads.OnnxConfig()))
            .AssertError(400, "status_exception", $"requested model_id [{alias}] is the same as an existing model_alias");
        (await service.PutAsync($"/_ml/trained_models/{deployment}", ModelUploads.OnnxConfig()))
            .AssertError(400, "status_exception", $"Cannot create model [{deployment}] the id is the same as an current model deployment");
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM ml_models WHERE model_id IN ($1, $2)", alias, deployment));
        Assert.Equal([$"alias|{someone}", $"deployment|{someone}"], await RowsAsync("SELECT kind || '|' || model_id FROM ml_ids WHERE id IN ($1, $2) ORDER BY 1", alias, deployment));
    }

    [Fact]
    public async Task Get_expands_wildcards_lists_and_pages()
    {
        var prefix = "get-" + Guid.NewGuid().ToString("N")[..8];
        foreach (var n in new[] { "a", "b", "c" })
            (await service.PutAsync($"/_ml/trained_models/{prefix}-{n}", ModelUploads.OnnxConfig())).AssertOk();

        var all = (await service.GetAsync($"/_ml/trained_models/{prefix}-*")).AssertOk().Body;
        Assert.Equal(3, all["count"]!.GetValue<int>());
        Assert.Equal([$"{prefix}-a", $"{prefix}-b", $"{prefix}-c"],
            all["trained_model_configs"]!.AsArray().Select(c => c!["model_id"]!.GetValue<string>()));

        var list = (await service.GetAsync($"/_ml/trained_models/{prefix}-c,{prefix}-a")).AssertOk().Body;
        Assert.Equal(2, list["count"]!.GetValue<int>());

        var page = (await service.GetAsync($"/_ml/trained_models/{prefix}-*?from=1&size=1")).AssertOk().Body;
        Assert.Equal(3, page["count"]!.GetValue<int>());
        Assert.Equal($"{prefix}-b", page["trained_model_configs"]![0]!["model_id"]!.GetValue<string>());

        var none = (await service.GetAsync("/_ml/trained_models/nothing-matches-*")).AssertOk().Body;
        Assert.Equal(0, none["count"]!.GetValue<int>());
        (await service.GetAsync("/_ml/trained_models/nothing-matches-*?allow_no_match=false"))
            .AssertError(404, "resource_not_found_exception", "nothing-matches-*");
        (await service.GetAsync($"/_ml/trained_models/{prefix}-a,{prefix}-missing"))
            .AssertError(404, "resource_not_found_exception", $"{prefix}-missing");
    }

    [Fact]
    public async Task Delete_removes_the_model_its_parts_and_frees_its_id()
    {
        var id = NewId("delete");
        (await service.PutAsync($"/_ml/trained_models/{id}", ModelUploads.OnnxConfig())).AssertOk();
        (await service.PutAsync($"/_ml/trained_models/{id}/definition/0", ModelUploads.Parts(TestOnnxModels.Mlp(), 2)[0])).AssertOk();

        var deleted = (await service.DeleteAsync($"/_ml/trained_models/{id}")).AssertOk().Body;
        Assert.True(deleted["acknowledged"]!.GetValue<bool>());
        (await service.GetAsync($"/_ml/trained_models/{id}")).AssertError(404, "resource_not_found_exception", id);
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM ml_ids WHERE id = $1", id));
        Assert.Equal(0, await CountAsync("SELECT count(*) FROM model_definition_parts WHERE model_id = $1", id));
        (await service.DeleteAsync($"/_ml/trained_models/{id}")).AssertError(404, "resource_not_found_exception", $"Could not find trained model [{id}]");

        // The id can be used again.
        (await service.PutAsync($"/_ml/trained_models/{id}", ModelUploads.OnnxConfig())).AssertOk();
    }

    [Fact]
    public async Task Vocabulary_is_stored_once_for_nlp_models_only()
    {
        var id = NewId("vocab");
        (await service.PutAsync($"/_ml/trained_models/{id}", ModelUploads.OnnxConfig())).AssertOk();
        var vocabulary = new JsonObject { ["vocabulary"] = new JsonArray("[PAD]", "[UNK]", "[CLS]", "[SEP]", "hello", "world") };
        (await service.PutAsync($"/_ml/trained_models/{id}/vocabulary", vocabulary)).AssertOk();
        (await service.PutAsync($"/_ml/trained_models/{id}/vocabulary", vocabulary))
            .AssertError(400, "resource_already_exists_exception", "vocabulary already exists");
        Assert.Equal(6, await CountAsync("SELECT jsonb_array_length(vocabulary->'vocabulary') FROM model_vocabulary WHERE model_id = $1", id));

        var tree = NewId("tree-vocab");
        (await service.PutAsync($"/_ml/trained_models/{tree}", ModelUploads.TreeModel())).AssertOk();
        (await service.PutAsync($"/_ml/trained_models/{tree}/vocabulary", vocabulary))
            .AssertError(400, "status_exception", "as it is not an NLP model");
    }

    [Fact]
    public async Task Tree_ensemble_given_inline_is_fully_defined_and_returned_with_include_definition()
    {
        var id = NewId("tree");
        var body = (await service.PutAsync($"/_ml/trained_models/{id}", ModelUploads.TreeModel())).AssertOk().Body;
        Assert.Equal("tree_ensemble", body["model_type"]!.GetValue<string>());

        var config = (await service.GetAsync($"/_ml/trained_models/{id}?include=definition,definition_status")).AssertOk().Body["trained_model_configs"]![0]!;
        Assert.True(config["fully_defined"]!.GetValue<bool>());
        Assert.NotNull(config["definition"]!["trained_model"]!["tree"]);
        (await service.PutAsync($"/_ml/trained_models/{id}/definition/0", ModelUploads.Parts(TestOnnxModels.Mlp(), 1)[0]))
            .AssertError(400, "status_exception", "as location is null");
    }

    [Fact]
    public async Task A_restarted_node_keeps_every_model()
    {
        var ids = Enumerable.Range(0, 5).Select(i => NewId($"keep{i}")).ToArray();
        foreach (var id in ids) (await service.PutAsync($"/_ml/trained_models/{id}", ModelUploads.OnnxConfig())).AssertOk();
        (await service.PutAsync($"/_ml/trained_models/{ids[0]}/definition/0", ModelUploads.Parts(TestOnnxModels.Mlp(), 1)[0])).AssertOk();

        await service.RestartAsync();

        var body = (await service.GetAsync($"/_ml/trained_models/{string.Join(",", ids)}?include=definition_status")).AssertOk().Body;
        Assert.Equal(5, body["count"]!.GetValue<int>());
        var first = body["trained_model_configs"]!.AsArray().Single(c => c!["model_id"]!.GetValue<string>() == ids[0])!;
        Assert.True(first["fully_defined"]!.GetValue<bool>());
        Assert.Equal("probs", first["onnx"]!["outputs"]![0]!["name"]!.GetValue<string>());
    }

    private Task<long> CountAsync(string sql, params object[] args) => service.CountAsync(sql, args);

    private async Task<List<string>> RowsAsync(string sql, params object[] args)
    {
        await CommittedRows.WaitAsync(service.Database.DataSource);
        await using var command = service.Database.DataSource.CreateCommand(sql);
        foreach (var arg in args) command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = arg });
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<string>();
        while (await reader.ReadAsync()) rows.Add(reader.GetString(0));
        return rows;
    }

    private Task ExecuteAsync(string sql, params object[] args) => service.ExecuteAsync(sql, args);
}
