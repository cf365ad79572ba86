using TrainedModelsOrleans.TestModels;
using TrainedModelsOrleans.TestSupport;
using Xunit;
using Xunit.Abstractions;

namespace TrainedModelsOrleans.Cluster.Tests;

/// <summary>Processes that are clients of the cluster, not silos: the API-only process and the SDK sample console.</summary>
public sealed class ClusterClientProcessTests(ITestOutputHelper output)
{
    [Fact]
    public async Task An_api_only_process_whose_silos_are_gone_answers_an_uncached_login_in_elasticsearchs_shape()
    {
        await using var cluster = await TestCluster.StartAsync(new TestClusterOptions { Silos = 1 }, output);
        await using var api = await NodeProcess.StartAsync(NodeProcess.FreePort(),
        [
            $"--Client:Gateways={cluster[0].GatewayAddress}",
            "--Node:Name=api-only",
            $"--DataDirectory={TestRunDirectory.CreateScratchDirectory("api-only-lost")}",
            "--Logging:LogLevel:Default=Warning",
        ], TimeSpan.FromSeconds(60));
        await cluster.KillAsync(0);

        // The credential is new to the API process, so authenticating it needs the realm grain, on no silo now: the
        // answer is ES's error object (a 5xx or a timeout), never an empty 500, and the process lives on.
        using var http = TestSecurity.Client(api.BaseAddress, TimeSpan.FromSeconds(60),
            TestSecurity.Basic(TestSecurity.ElasticUser, "not-cached-" + Guid.NewGuid().ToString("N")));
        var answer = await http.SendJsonAsync(HttpMethod.Get, "/_ml/trained_models");
        output.WriteLine($"{(int)answer.Status} {answer.Text}");
        Assert.True((int)answer.Status is 503 or 408, answer.Text);
        Assert.Equal("Elasticsearch", answer.Headers["X-Elastic-Product"]);
        Assert.False(string.IsNullOrEmpty(answer.Body["error"]!["reason"]!.GetValue<string>()));
        Assert.Equal((int)answer.Status, answer.Body["status"]!.GetValue<int>());
        Assert.False(api.HasExited);
    }

    [Fact]
    public async Task An_api_only_process_serves_the_ml_api_through_the_silos_gateways_and_the_sample_console_runs_against_them()
    {
        await using var cluster = await TestCluster.StartAsync(new TestClusterOptions { Silos = 2 }, output);
        var gateways = string.Join(',', cluster.Silos.Select(s => s.GatewayAddress));

        await using var api = await NodeProcess.StartAsync(NodeProcess.FreePort(),
        [
            $"--Client:Gateways={gateways}",
            "--Node:Name=api-only",
            $"--DataDirectory={TestRunDirectory.CreateScratchDirectory("api-only")}",
            "--Logging:LogLevel:Default=Warning",
        ], TimeSpan.FromSeconds(60));
        using var http = TestSecurity.Client(api.BaseAddress, TimeSpan.FromSeconds(60));

        var root = (await http.SendJsonAsync(HttpMethod.Get, "/")).AssertOk().Body;
        var siloRoot = (await cluster[0].Http.SendJsonAsync(HttpMethod.Get, "/")).AssertOk().Body;
        Assert.False(string.IsNullOrEmpty(root["cluster_uuid"]!.GetValue<string>()));
        Assert.Equal(siloRoot["cluster_uuid"]!.GetValue<string>(), root["cluster_uuid"]!.GetValue<string>());
        Assert.Equal("api-only", root["name"]!.GetValue<string>());

        var model = await TinyModel.UploadAsync(http, "via-api");
        (await http.StartDeploymentAsync(model, "number_of_allocations=2&wait_for=started")).AssertOk();
        var rows = new[] { TinyModel.Row(7), TinyModel.Row(8) };
        TinyModel.AssertInferResults(await TinyModel.InferAsync(http, model, rows), rows);
        Assert.Equal(2, await cluster.ScalarAsync<long>("SELECT sum(current_allocations) FROM deployment_routes WHERE deployment_id = $1 AND routing_state = 'started'", model));
        (await http.StopDeploymentAsync(model)).AssertOk();
        Assert.Equal(0, await cluster.ScalarAsync<long>("SELECT count(*) FROM deployment_routes WHERE deployment_id = $1", model));

        // The sample console: upload, start, infer and stop over the gateways, no HTTP.
        var onnx = Path.Combine(TestRunDirectory.CreateScratchDirectory("sample"), "tiny.onnx");
        await File.WriteAllBytesAsync(onnx, TestOnnxModels.Mlp());
        var sampleModel = MlApi.NewId("sample");
        await using var sample = NodeProcess.Launch(Path.Combine("client-sample", "TrainedModelsOrleans.ClientSample.dll"),
            ["--gateways", gateways, "--model", sampleModel, "--onnx", onnx, "--input", "input", "--shape", "1,64"]);
        var exitCode = await sample.WaitForExitAsync(TimeSpan.FromSeconds(60));
        var lines = sample.Output;
        output.WriteLine(string.Join('\n', lines));
        Assert.True(exitCode == 0, sample.OutputTail());
        Assert.Contains(lines, l => l.StartsWith("connected through 127.0.0.1:", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("started: ", StringComparison.Ordinal));
        // The sample infers sin(0), sin(1), …: its printed output is what the reference computes.
        var printed = Assert.Single(lines, l => l.StartsWith("probs [1,8]: ", StringComparison.Ordinal))["probs [1,8]: ".Length..]
            .Split(", ").Select(v => float.Parse(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var expected = TestOnnxModels.MlpReference(Enumerable.Range(0, 64).Select(i => (float)Math.Sin(i)).ToArray(), 1);
        Assert.Equal(expected.Length, printed.Length);
        for (var i = 0; i < expected.Length; i++) Assert.Equal(expected[i], printed[i], 1e-5f);
        // Its typed stats: a line per node serving the deployment, whose counts add up to the one inference.
        var nodeLines = lines.Where(l => l.StartsWith($"{sampleModel} on ", StringComparison.Ordinal)).ToArray();
        Assert.NotEmpty(nodeLines);
        Assert.Equal(1, nodeLines.Sum(l => int.Parse(l.Split(", ")[^1].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal("stopped", lines[^1]);
        Assert.Equal(1, await cluster.ScalarAsync<long>("SELECT count(*) FROM ml_ids WHERE id = $1 AND kind = 'model'", sampleModel));
        Assert.Equal(0, await cluster.ScalarAsync<long>("SELECT count(*) FROM deployment_routes WHERE deployment_id = $1", sampleModel));
        Assert.Null(await DeploymentState.StoredNumberOfAllocationsAsync(cluster, sampleModel));
    }
}
