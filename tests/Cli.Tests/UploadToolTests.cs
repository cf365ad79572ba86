using TrainedModelsOrleans.TestSupport;
using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using TrainedModelsOrleans.Cli.Commands;
using TrainedModelsOrleans.Cli.Service;
using TrainedModelsOrleans.Cli.Upload;
using TrainedModelsOrleans.TestModels;
using Xunit;

namespace TrainedModelsOrleans.Cli.Tests;

/// <summary>The tool against a real service: a model of several MB in many parts, uploaded, started, run, interrupted and resumed.</summary>
public sealed partial class UploadToolTests(CliServiceFixture service) : IClassFixture<CliServiceFixture>
{
    private static readonly TimeSpan RunBound = TimeSpan.FromMinutes(3);

    /// <summary>An identity model of one 1600×1600 float matrix: about 10 MB.</summary>
    private static readonly Lazy<byte[]> LargeModel = new(() => TestOnnxModels.IdentityChain(width: 1600, depth: 2));

    private static float[] InputRow() => Enumerable.Range(0, 1600).Select(i => i * 0.25f - 100f).ToArray();

    private string LargeModelFile(string name)
    {
        Assert.True(LargeModel.Value.Length > 10_000_000, $"the model should be several MB, is {LargeModel.Value.Length}");
        return service.WriteFile(name, LargeModel.Value);
    }

    [Fact]
    public async Task Upload_with_start_then_infer_answers_the_models_output_and_list_and_stop_work()
    {
        var model = LargeModelFile("upload-start.onnx");
        var upload = (await service.RunCliAsync(RunBound, "upload", model, "--model-id", "chain-started", "--task-type", "pass_through",
            "--input-field", "input", "--part-size", "262144", "--start", "--wait-for", "started")).AssertExit(0);
        Assert.Contains("definition stored: 40 parts sent, 0 already stored", upload.Text);
        Assert.Equal(Enumerable.Range(0, 40), upload.StoredPartLines);
        Assert.Contains("deployment [chain-started] started", upload.Text);
        Assert.True((bool)(await service.ModelStatusAsync("chain-started"))["fully_defined"]!);

        var npy = service.WriteFile("row.npy", NpyArrayTests.Npy("<f4", "(1, 1600)", NpyArrayTests.Floats(InputRow())));
        var infer = (await service.RunCliAsync(RunBound, "infer", "chain-started", "--npy", npy)).AssertExit(0);
        Assert.Equal(InputRow(), Flatten(infer.PrintedJson["inference_results"]![0]!["predicted_value"]!));

        var list = (await service.RunCliAsync(RunBound, "list")).AssertExit(0);
        Assert.True(list.Lines.Any(l => l.Contains("chain-started") && l.Contains("onnx")), list.Text);
        Assert.True(list.Lines.Any(l => l.Contains("chain-started") && l.Contains("started") && l.Contains("1/1")), list.Text);

        (await service.RunCliAsync(RunBound, "stop", "chain-started")).AssertExit(0);
        var stopped = (await service.RunCliAsync(RunBound, "infer", "chain-started", "--npy", npy)).AssertExit(CommandRun.Refused);
        Assert.Contains("must be deployed to use", stopped.Text);
    }

    [Fact]
    public async Task A_text_classifier_with_labels_and_a_text_vocabulary_answers_text_on_its_own_input_field()
    {
        var model = service.WriteFile("text-classifier.onnx", TestOnnxModels.Text(attentionMask: true));
        var tokens = new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world" }.Concat(Enumerable.Range(7, 993).Select(i => $"w{i}"));
        var vocab = service.WriteFile("vocab.txt", System.Text.Encoding.UTF8.GetBytes(string.Join('\n', tokens) + "\n"));
        var upload = (await service.RunCliAsync(RunBound, "upload", model, "--model-id", "text-cli", "--task-type", "text_classification",
            "--input-field", "text", "--labels", "a,b,c,d", "--labels", "e,f,g,h", "--vocab", vocab, "--start")).AssertExit(0);
        Assert.Contains("model [text-cli] vocabulary stored", upload.Text);

        // Run again: nothing to send, the vocabulary is there (and the deployment runs, so no --start).
        var again = (await service.RunCliAsync(RunBound, "upload", model, "--model-id", "text-cli", "--task-type", "text_classification",
            "--input-field", "text", "--labels", "a,b,c,d,e,f,g,h", "--vocab", vocab)).AssertExit(0);
        Assert.Contains("model [text-cli] already holds this definition", again.Text);
        Assert.Contains("model [text-cli] vocabulary already stored", again.Text);
        Assert.Empty(again.StoredPartLines);

        // No --field: the tool reads the model's input field ("text") from its config.
        var infer = (await service.RunCliAsync(RunBound, "infer", "text-cli", "--text", "hello world")).AssertExit(0);
        var result = infer.PrintedJson["inference_results"]![0]!;
        Assert.Contains(result["predicted_value"]!.GetValue<string>(), new[] { "a", "b", "c", "d", "e", "f", "g", "h" });
        Assert.InRange(result["prediction_probability"]!.GetValue<double>(), 0.0, 1.0);
        (await service.RunCliAsync(RunBound, "stop", "text-cli")).AssertExit(0);
    }

    [Fact]
    public async Task A_killed_upload_resumes_sending_only_the_parts_the_service_does_not_hold()
    {
        var model = LargeModelFile("killed.onnx");
        string[] upload = ["upload", model, "--model-id", "chain-resumed", "--task-type", "pass_through", "--input-field", "input", "--part-size", "65536"];
        const int totalParts = 157; // 10,240,0xx bytes in 64 KiB parts

        await using (var first = service.LaunchCli(upload))
        {
            // Kill -9 once 20 parts are stored: the process gets no chance to finish anything.
            var deadline = Stopwatch.StartNew();
            while (new CliRun(0, first.Output).StoredPartLines.Count < 20)
            {
                Assert.False(first.HasExited, $"the upload ended before it could be killed\n{first.OutputTail()}");
                Assert.True(deadline.Elapsed < TimeSpan.FromSeconds(90), $"20 parts were not stored within 90 s\n{first.OutputTail()}");
                await Task.Delay(10);
            }
            await first.KillAsync();
        }

        var interrupted = await service.ModelStatusAsync("chain-resumed");
        Assert.False((bool)interrupted["fully_defined"]!);
        var parts = interrupted["definition_parts"]!;
        Assert.Equal(totalParts, (int)parts["total_parts"]!);
        Assert.Equal(LargeModel.Value.Length, (long)parts["total_definition_length"]!);
        var storedBefore = parts["stored_parts"]!.AsArray().Select(p => (int)p!).ToHashSet();
        Assert.InRange(storedBefore.Count, 20, totalParts - 1);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(LargeModel.Value)),
            (string)interrupted["metadata"]!["definition_sha256"]!);

        // Another file of the same length cannot continue it: the tool compares the file's sha256 with the stored one.
        var altered = LargeModel.Value.ToArray();
        altered[^1] ^= 0xff;
        var other = service.WriteFile("killed-altered.onnx", altered);
        var refused = (await service.RunCliAsync(RunBound, ["upload", other, .. upload[2..]])).AssertExit(1);
        Assert.Contains("was uploaded from another file (sha256 ", refused.Text);
        Assert.Empty(refused.StoredPartLines);

        var resumed = (await service.RunCliAsync(RunBound, [.. upload, "--start"])).AssertExit(0);
        var resuming = ResumingLine().Match(resumed.Text);
        Assert.True(resuming.Success, resumed.Text);
        var skipped = int.Parse(resuming.Groups[1].Value);
        // A part in flight at the kill may have been stored after the GET above: the tool may skip one more than it saw.
        Assert.InRange(skipped, storedBefore.Count, storedBefore.Count + 1);
        Assert.Empty(resumed.StoredPartLines.Intersect(storedBefore));
        Assert.Equal(totalParts - skipped, resumed.StoredPartLines.Count);
        var summary = SummaryLine().Match(resumed.Text);
        Assert.True(summary.Success, resumed.Text);
        Assert.Equal(totalParts, int.Parse(summary.Groups[1].Value) + int.Parse(summary.Groups[2].Value));
        Assert.InRange(int.Parse(summary.Groups[2].Value), skipped, skipped + 1);

        var complete = await service.ModelStatusAsync("chain-resumed");
        Assert.True((bool)complete["fully_defined"]!);
        Assert.Null(complete["definition_parts"]);

        var tensor = service.WriteFile("row.json", System.Text.Encoding.UTF8.GetBytes(new JsonObject
        {
            ["shape"] = new JsonArray(1, 1600),
            ["data"] = new JsonArray(InputRow().Select(v => (JsonNode?)v).ToArray()),
        }.ToJsonString()));
        var infer = (await service.RunCliAsync(RunBound, "infer", "chain-resumed", "--tensor", tensor)).AssertExit(0);
        Assert.Equal(InputRow(), Flatten(infer.PrintedJson["inference_results"]![0]!["predicted_value"]!));
        (await service.RunCliAsync(RunBound, "stop", "chain-resumed")).AssertExit(0);
    }

    [Fact]
    public async Task A_refused_config_stops_with_elasticsearchs_reason_and_exit_code_1()
    {
        var config = ModelConfig.ForTask("no_such_task", "input", null, null, null);
        var direct = await service.Http.SendJsonAsync(HttpMethod.Put, "/_ml/trained_models/refused-config", config);
        Assert.Equal(HttpStatusCode.BadRequest, direct.Status);
        var reason = direct.Body["error"]!["reason"]!.GetValue<string>();

        var model = service.WriteFile("small.onnx", TestOnnxModels.IdentityChain(width: 16, depth: 1));
        var run = (await service.RunCliAsync(RunBound, "upload", model, "--model-id", "refused-config", "--task-type", "no_such_task",
            "--input-field", "input"))
            .AssertExit(CommandRun.Refused);
        var expected = $"put model [refused-config]: [400] {direct.Body["error"]!["type"]}: {reason}";
        Assert.True(run.Text.Contains(expected, StringComparison.Ordinal), $"expected \"{expected}\" in\n{run.Text}");
        Assert.Equal(HttpStatusCode.NotFound, (await service.Http.SendJsonAsync(HttpMethod.Get, "/_ml/trained_models/refused-config")).Status);
    }

    [Fact]
    public async Task A_refused_part_stops_the_upload_then_another_file_conflicts_until_clear_previous()
    {
        var garbage = service.WriteFile("garbage.onnx", Enumerable.Range(0, 3000).Select(i => (byte)(i * 7)).ToArray());
        var refused = (await service.RunCliAsync(RunBound, "upload", garbage, "--model-id", "not-onnx", "--task-type", "pass_through",
            "--part-size", "1000")).AssertExit(CommandRun.Refused);
        // The last part completes the definition, which ONNX Runtime then cannot open: the service refuses that part.
        Assert.Contains("put definition part [2] of model [not-onnx]: [400]", refused.Text);
        Assert.Equal([0, 1], refused.StoredPartLines);

        var model = service.WriteFile("replacement.onnx", TestOnnxModels.IdentityChain(width: 16, depth: 1));
        var conflict = (await service.RunCliAsync(RunBound, "upload", model, "--model-id", "not-onnx", "--task-type", "pass_through",
            "--part-size", "1000")).AssertExit(CommandRun.Refused);
        Assert.Contains("was uploaded from another file", conflict.Text);
        Assert.Contains("--clear-previous", conflict.Text);

        var replaced = (await service.RunCliAsync(RunBound, "upload", model, "--model-id", "not-onnx", "--task-type", "pass_through",
            "--part-size", "1000", "--clear-previous")).AssertExit(0);
        Assert.Contains("deleting it", replaced.Text);
        Assert.True((bool)(await service.ModelStatusAsync("not-onnx"))["fully_defined"]!);
    }

    [Fact]
    public async Task A_5xx_a_connection_error_and_a_lost_answer_are_retried_and_the_upload_completes()
    {
        var bytes = TestOnnxModels.IdentityChain(width: 64, depth: 2);
        var plan = PartPlan.For(bytes.Length, 2048);
        Assert.True(plan.TotalParts >= 5, $"{plan.TotalParts} parts");
        var faults = new FaultInjectingHandler(new Dictionary<int, Fault> { [1] = Fault.Answer503, [2] = Fault.ConnectionError, [3] = Fault.AnswerLost });
        var output = new StringWriter();
        using var http = SignedInClient(faults);
        var uploader = FastRetryingUploader(http, output);

        await uploader.UploadAsync(new UploadRequest
        {
            ModelId = "retried",
            ModelFile = service.WriteFile("retried.onnx", bytes),
            Config = ModelConfig.ForTask("pass_through", "input", null, null, null),
            PartSize = 2048,
        }, CancellationToken.None);

        var text = output.ToString();
        Assert.Contains("part 1 attempt 1 failed ([503] injected", text);
        Assert.Contains("part 2 attempt 1 failed (injected connection reset", text);
        Assert.Contains("part 3 attempt 1 failed (injected lost answer", text);
        Assert.Contains($"definition stored: {plan.TotalParts - 1} parts sent, 1 already stored", text);
        Assert.Equal(Enumerable.Range(0, plan.TotalParts).ToDictionary(p => p, p => p is 1 or 2 or 3 ? 2 : 1), faults.Attempts);
        Assert.True((bool)(await service.ModelStatusAsync("retried"))["fully_defined"]!);
    }

    [Fact]
    public async Task A_start_whose_answer_was_lost_is_retried_and_finds_its_own_deployment()
    {
        var faults = new FaultInjectingHandler(new Dictionary<int, Fault>()) { LoseFirstStartAnswer = true };
        var output = new StringWriter();
        using var http = SignedInClient(faults);
        var uploader = FastRetryingUploader(http, output);

        await uploader.UploadAsync(new UploadRequest
        {
            ModelId = "start-lost",
            ModelFile = service.WriteFile("start-lost.onnx", TestOnnxModels.IdentityChain(width: 16, depth: 1)),
            Config = ModelConfig.ForTask("pass_through", "input", null, null, null),
            Start = new DeploymentSettings { WaitFor = "started" },
        }, CancellationToken.None);

        Assert.Contains("deployment [start-lost] was started by an earlier attempt", output.ToString());
        var stats = (await service.Http.SendJsonAsync(HttpMethod.Get, "/_ml/trained_models/start-lost/_stats")).AssertOk();
        Assert.Equal("started", stats.Body["trained_model_stats"]![0]!["deployment_stats"]!["state"]!.GetValue<string>());
        (await service.Http.StopDeploymentAsync("start-lost")).AssertOk();
    }

    [Fact]
    public async Task A_part_failing_every_time_is_tried_a_bounded_number_of_times_then_refused()
    {
        var faults = new FaultInjectingHandler(new Dictionary<int, Fault> { [0] = Fault.Always503 });
        using var http = SignedInClient(faults);
        var uploader = FastRetryingUploader(http, TextWriter.Null);

        var error = await Assert.ThrowsAsync<ServiceRefusedException>(() => uploader.UploadAsync(new UploadRequest
        {
            ModelId = "always-failing",
            ModelFile = service.WriteFile("always-failing.onnx", TestOnnxModels.IdentityChain(width: 16, depth: 1)),
            Config = ModelConfig.ForTask("pass_through", "input", null, null, null),
        }, CancellationToken.None));
        Assert.Equal(503, error.Answer.Status);
        Assert.Equal(3, faults.Attempts[0]);
    }

    /// <summary>A client of the service through <paramref name="faults"/>, signed in as elastic.</summary>
    private HttpClient SignedInClient(FaultInjectingHandler faults) =>
        new ServiceConnection(service.Node.BaseAddress, TestSecurity.ElasticUser, TestSecurity.ElasticPassword).CreateHttpClient(faults);

    /// <summary>An uploader that tries 3 times, 10 ms apart at first, and writes its lines to <paramref name="output"/>.</summary>
    private static ModelUploader FastRetryingUploader(HttpClient http, TextWriter output) =>
        new(new ElasticsearchClient(http), new TransientRetry(new RetryPolicy(3, TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(50))),
            new LineUploadProgress(output), output);

    private static float[] Flatten(JsonNode node) => node is JsonArray array
        ? array.SelectMany(n => Flatten(n!)).ToArray()
        : [node.GetValue<float>()];

    [GeneratedRegex(@"exists with (\d+) of 157 parts stored: resuming")]
    private static partial Regex ResumingLine();

    [GeneratedRegex(@"definition stored: (\d+) parts sent, (\d+) already stored")]
    private static partial Regex SummaryLine();
}

public enum Fault { Answer503, ConnectionError, AnswerLost, Always503 }

/// <summary>
/// Sits between the tool and the real service and fails chosen definition parts' first attempt: a 503 in ES's error
/// shape, a connection error before the request leaves, or a connection error after the service stored the part.
/// </summary>
public sealed partial class FaultInjectingHandler(IReadOnlyDictionary<int, Fault> faults) : DelegatingHandler(new SocketsHttpHandler())
{
    public Dictionary<int, int> Attempts { get; } = [];

    /// <summary>The first deployment start reaches the service, but its answer is lost.</summary>
    public bool LoseFirstStartAnswer { get; init; }

    private int _starts;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (LoseFirstStartAnswer && request.RequestUri!.AbsolutePath.EndsWith("/deployment/_start", StringComparison.Ordinal)
            && Interlocked.Increment(ref _starts) == 1)
        {
            (await base.SendAsync(request, cancellationToken)).Dispose();
            throw new HttpRequestException("injected lost start answer");
        }
        var match = DefinitionPart().Match(request.RequestUri!.AbsolutePath);
        if (!match.Success) return await base.SendAsync(request, cancellationToken);
        var part = int.Parse(match.Groups[1].Value);
        int attempt;
        lock (Attempts) attempt = Attempts[part] = Attempts.GetValueOrDefault(part) + 1;
        switch (faults.GetValueOrDefault(part, (Fault)(-1)))
        {
            case Fault.Answer503 when attempt == 1:
            case Fault.Always503:
                return new HttpResponseMessage(HttpStatusCode.ServiceUnavailable)
                {
                    Content = new StringContent("""{"error":{"root_cause":[],"type":"status_exception","reason":"injected"},"status":503}"""),
                };
            case Fault.ConnectionError when attempt == 1:
                throw new HttpRequestException("injected connection reset");
            case Fault.AnswerLost when attempt == 1:
                (await base.SendAsync(request, cancellationToken)).Dispose();
                throw new HttpRequestException("injected lost answer");
            default:
                return await base.SendAsync(request, cancellationToken);
        }
    }

    [GeneratedRegex(@"/definition/(\d+)$")]
    private static partial Regex DefinitionPart();
}
