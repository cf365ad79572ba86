using System.Text.Json.Nodes;
using Xunit;

namespace TrainedModelsOrleans.Api.Tests;

/// <summary>GET _ml/info and GET _cat/ml/trained_models, on a cluster of one node (4 processors, 16 GiB).</summary>
public sealed class MlInfoAndCatTests(ServiceFixture service) : IClassFixture<ServiceFixture>
{
    [Fact]
    public async Task Ml_info_reports_defaults_and_the_limits_of_the_live_nodes()
    {
        var info = (await service.GetAsync("/_ml/info")).AssertOk().Body;

        var limits = info["limits"]!.AsObject();
        Assert.Equal("16384mb", limits["total_ml_memory"]!.GetValue<string>());
        Assert.Equal("16334mb", limits["effective_max_model_memory_limit"]!.GetValue<string>()); // less 20mb + 30mb of overheads
        Assert.Equal(4, limits["total_ml_processors"]!.GetValue<int>());
        Assert.Equal(4, limits["max_single_ml_node_processors"]!.GetValue<int>());
        Assert.False(limits.ContainsKey("max_model_memory_limit")); // not configured, as ES leaves it out

        var detectors = info["defaults"]!["anomaly_detectors"]!;
        Assert.Equal("1gb", detectors["model_memory_limit"]!.GetValue<string>());
        Assert.Equal(4, detectors["categorization_examples_limit"]!.GetValue<int>());
        Assert.Equal(10, detectors["model_snapshot_retention_days"]!.GetValue<int>());
        Assert.Equal(1, detectors["daily_model_snapshot_retention_after_days"]!.GetValue<int>());
        Assert.Equal("ml_standard", detectors["categorization_analyzer"]!["tokenizer"]!.GetValue<string>());
        Assert.Equal(1000, info["defaults"]!["datafeeds"]!["scroll_size"]!.GetValue<int>());
        Assert.False(info["upgrade_mode"]!.GetValue<bool>());
        Assert.Equal("8.9.0", info["native_code"]!["version"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(info["native_code"]!["build_hash"]!.GetValue<string>()));

        (await service.GetAsync("/_ml/info?verbose=true"))
            .AssertError(400, "illegal_argument_exception", "request [/_ml/info] contains unrecognized parameter: [verbose]");
    }

    private async Task<(string First, string Second, long Bytes)> TwoModelsAsync(string prefix)
    {
        var first = await service.UploadModelAsync(prefix, id: $"{prefix}-a");
        var second = await service.UploadModelAsync(prefix, id: $"{prefix}-bb");
        var bytes = (await service.GetAsync($"/_ml/trained_models/{first}")).AssertOk()
            .Body["trained_model_configs"]![0]!["model_size_bytes"]!.GetValue<long>();
        return (first, second, bytes);
    }

    [Fact]
    public async Task Cat_trained_models_prints_elasticsearch_columns_as_text()
    {
        var prefix = Deployments.NewId("cat");
        var (first, second, _) = await TwoModelsAsync(prefix);

        var text = (await service.GetAsync($"/_cat/ml/trained_models/{prefix}-*?v&h=id,ip,type&s=id:desc")).AssertOk();
        Assert.StartsWith("text/plain", text.Headers["Content-Type"]);
        var width = second.Length;
        Assert.Equal(
            "id".PadRight(width) + " ip type\n" +
            second + " 0  onnx\n" +
            first.PadRight(width) + " 0  onnx\n",
            text.Text);

        // created_by is ES's one right-aligned column; an alias shows as asked.
        var aligned = (await service.GetAsync($"/_cat/ml/trained_models/{first}?v&h=c,id")).AssertOk().Text;
        Assert.Equal("       c id\napi_user " + first + "\n", aligned);

        // The default columns, without a header line.
        var row = (await service.GetAsync($"/_cat/ml/trained_models/{first}")).AssertOk().Text.TrimEnd('\n').Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(7, row.Length); // id heap_size operations create_time type ingest.pipelines data_frame.id
        Assert.Equal([first, "onnx", "0", "__none__"], [row[0], row[4], row[5], row[6]]);

        var help = (await service.GetAsync("/_cat/ml/trained_models?help")).AssertOk().Text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(18, help.Length);
        Assert.Matches(@"^heap_size +\| hs,modelHeapSize +\| the estimated heap size to keep the model in memory +$", help[2]);
        Assert.All(help, line => Assert.Equal(help[0].Length, line.Length));
    }

    [Fact]
    public async Task Cat_trained_models_answers_json_with_sizes_in_the_unit_asked()
    {
        var prefix = Deployments.NewId("catjson");
        var (first, second, bytes) = await TwoModelsAsync(prefix);

        var json = (await service.GetAsync($"/_cat/ml/trained_models/{prefix}-*?format=json&h=id,heap_size,license,description,dft,ingest.time&bytes=b&time=ms&s=id"))
            .AssertOk().Body.AsArray();
        Assert.Equal(2, json.Count);
        Assert.Equal(first, json[0]!["id"]!.GetValue<string>());
        Assert.Equal(second, json[1]!["id"]!.GetValue<string>());
        Assert.Equal(bytes.ToString(System.Globalization.CultureInfo.InvariantCulture), json[0]!["heap_size"]!.GetValue<string>());
        Assert.Equal("PLATINUM", json[0]!["license"]!.GetValue<string>());
        Assert.Equal("a test model", json[0]!["description"]!.GetValue<string>());
        Assert.Null(json[0]!["dft"]); // no data frame analytics: an empty cell, shown under the alias asked for
        Assert.True(json[0]!.AsObject().ContainsKey("dft"));
        Assert.Equal("0", json[0]!["ingest.time"]!.GetValue<string>());

        // ingest.pipelines counts the pipelines naming a model, as _stats' pipeline_count does.
        var pipeline = Deployments.NewId("cat-pipeline");
        (await service.PutAsync($"/_ingest/pipeline/{pipeline}", System.Text.Json.Nodes.JsonNode.Parse(
            $$$"""{"processors":[{"inference":{"model_id":"{{{first}}}"}}]}"""))).AssertOk();
        var counted = (await service.GetAsync($"/_cat/ml/trained_models/{prefix}-*?format=json&h=id,ip&s=id")).AssertOk().Body.AsArray();
        Assert.Equal(["1", "0"], counted.Select(r => r!["ip"]!.GetValue<string>()));
        (await service.DeleteAsync($"/_ingest/pipeline/{pipeline}")).AssertOk();

        var kb = (await service.GetAsync($"/_cat/ml/trained_models/{first}?format=json&h=hs&bytes=kb")).AssertOk().Body[0]!["hs"]!.GetValue<string>();
        Assert.Equal((bytes / 1024).ToString(System.Globalization.CultureInfo.InvariantCulture), kb);

        var yaml = (await service.GetAsync($"/_cat/ml/trained_models/{first}?format=yaml&h=id,type")).AssertOk();
        Assert.Equal($"---\n- id: \"{first}\"\n  type: \"onnx\"\n", yaml.Text);

        (await service.GetAsync($"/_cat/ml/trained_models?s=nope")).AssertError(400, "unsupported_operation_exception", "Unable to sort by unknown sort key `nope`");
        (await service.GetAsync("/_cat/ml/trained_models/no-such-model")).AssertError(404, "resource_not_found_exception", "no-such-model");
        (await service.GetAsync("/_cat/ml/trained_models?helpp"))
            .AssertError(400, "illegal_argument_exception", "request [/_cat/ml/trained_models] contains unrecognized parameter: [helpp] -> did you mean [help]?");
    }
}
