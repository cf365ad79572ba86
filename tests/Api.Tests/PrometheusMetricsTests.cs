using TrainedModelsOrleans.TestSupport;
using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using TrainedModelsOrleans.TestModels;
using Xunit;

namespace TrainedModelsOrleans.Api.Tests;

/// <summary>GET /_prometheus/metrics: our serving metrics per deployment and node move with traffic; Orleans' meter is there; the dashboard shows ours.</summary>
public sealed partial class PrometheusMetricsTests(ServiceFixture service) : IClassFixture<ServiceFixture>
{
    private const string Node = "api-test-node";

    private static float[] RandomRow(int seed, int width = 64)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, width).Select(_ => (float)random.NextDouble()).ToArray();
    }

    private static JsonObject TensorDoc(float[] data, params long[] shape) => new()
    {
        ["tensor"] = new JsonObject { ["shape"] = new JsonArray(shape.Select(d => (JsonNode?)d).ToArray()), ["data"] = new JsonArray(data.Select(v => (JsonNode?)v).ToArray()) },
    };

    private Task<Response> InferAsync(string id, JsonObject doc) =>
        service.PostAsync($"/_ml/trained_models/{id}/_infer", new JsonObject { ["docs"] = new JsonArray(doc.DeepClone()) });

    [Fact]
    public async Task Counters_histograms_and_gauges_move_with_inference_traffic()
    {
        var model = await service.UploadModelAsync("scraped");
        (await service.StartAsync(model, "cache_size=1mb&number_of_allocations=2")).AssertOk();
        // The deployment's series appear once its executor exists; before any request they read zero.
        var before = await ScrapeAsync();
        Assert.Equal(0, before.Value("ml_inference_requests_total", model));

        // 8 different docs (each runs the model), then the first again (answered from the cache), and a doc the API refuses (400, before the queue).
        for (var i = 0; i < 8; i++) (await InferAsync(model, TensorDoc(RandomRow(i), 1, 64))).AssertOk();
        (await InferAsync(model, TensorDoc(RandomRow(0), 1, 64))).AssertOk();
        (await InferAsync(model, TensorDoc(RandomRow(1, 10), 1, 10))).AssertError(400, "status_exception", "needs 64");

        var after = await ScrapeAsync();
        Assert.Equal(9, after.Value("ml_inference_requests_total", model) - before.Value("ml_inference_requests_total", model));
        Assert.Equal(1, after.Value("ml_inference_cache_hits_total", model) - before.Value("ml_inference_cache_hits_total", model));
        Assert.Equal(0, after.Value("ml_inference_errors_total", model));
        Assert.Equal(0, after.Value("ml_inference_rejections_total", model));
        Assert.Equal(0, after.Value("ml_inference_timeouts_total", model));
        Assert.Equal(0, after.Value("ml_inference_queue_depth", model));
        Assert.Equal(2, after.Value("ml_deployment_allocations", model));
        Assert.True(after.Value("ml_inference_duration_p99_milliseconds", model) > 0);

        // Histograms: every answered request (cache hit too) has an inference time; the 8 model runs waited in the queue and ran in batches.
        Assert.Equal(9, after.Value("ml_inference_duration_seconds_count", model) - before.Value("ml_inference_duration_seconds_count", model));
        Assert.Equal(9, after.Value("ml_inference_duration_seconds_bucket", model, ("le", "+Inf")));
        Assert.True(after.Value("ml_inference_duration_seconds_bucket", model, ("le", "30")) >= after.Value("ml_inference_duration_seconds_bucket", model, ("le", "0.001")));
        Assert.Equal(8, after.Value("ml_inference_queue_wait_seconds_count", model));
        Assert.Equal(8, after.Value("ml_inference_batch_size_sum", model));
        Assert.InRange(after.Value("ml_inference_batch_size_count", model), 1, 8);

        // The same p99 in _stats, for the ML page.
        var node = (await service.GetAsync($"/_ml/trained_models/{model}/_stats")).AssertOk()
            .Body["trained_model_stats"]![0]!["deployment_stats"]!["nodes"]![0]!;
        Assert.True(node["inference_time_p99_ms"]!.GetValue<double>() > 0);

        // Orleans' own meter is scraped too.
        Assert.Contains(after.Names, n => n.StartsWith("orleans_", StringComparison.Ordinal));
        Assert.Contains("orleans_grains", after.Names);
        Assert.Contains(after.Samples, x => x.Name == "target_info" && x.Labels.GetValueOrDefault("service_name") == "trained-models-orleans"
                                            && x.Labels.GetValueOrDefault("service_instance_id") == Node);
        Assert.Contains("orleans_storage_write_latency_milliseconds_bucket", after.Names);
        // Ours come from our meter only (their dashboard copies on Orleans' meter are not scraped).
        Assert.All(after.Samples.Where(x => x.Name.StartsWith("ml_", StringComparison.Ordinal)),
            x => Assert.Equal("TrainedModelsOrleans.ML", x.Labels["otel_scope_name"]));
        (await service.StopAsync(model)).AssertOk();
        Assert.DoesNotContain((await ScrapeAsync()).Samples, s => s.Labels.GetValueOrDefault("deployment") == model && s.Name == "ml_inference_queue_depth");
    }

    [Fact]
    public async Task A_full_queue_counts_each_429_as_a_rejection()
    {
        var model = await service.UploadModelAsync("rejecting", TestOnnxModels.Medium());
        (await service.StartAsync(model, "queue_capacity=1")).AssertOk();
        // 32 rows of a ~1 ms model per doc: requests overlap; every doc differs, so none is a cache hit.
        var docs = Enumerable.Range(0, 24).Select(i => TensorDoc(RandomRow(100 + i, 32 * 1024), 32, 1024)).ToArray();
        var responses = await Task.WhenAll(docs.Select(doc => Task.Run(() => InferAsync(model, doc))));
        var rejected = responses.Count(r => (int)r.Status == 429);
        var answered = responses.Count(r => r.Status == HttpStatusCode.OK);
        Assert.Equal(docs.Length, rejected + answered);
        Assert.NotEqual(0, rejected);

        var scrape = await ScrapeAsync();
        Assert.Equal(rejected, scrape.Value("ml_inference_rejections_total", model));
        Assert.Equal(answered, scrape.Value("ml_inference_requests_total", model));
        (await service.StopAsync(model)).AssertOk();
    }

    [Fact]
    public async Task Our_counters_show_on_the_orleans_dashboard()
    {
        var model = await service.UploadModelAsync("dashboard");
        (await service.StartAsync(model)).AssertOk();
        (await InferAsync(model, TensorDoc(RandomRow(1), 1, 64))).AssertOk();

        // The dashboard's exporter sends each silo's counters every second (the p99 gauge only once a request was answered):
        // look for all of ours, a bounded number of times.
        string[] names = ["ml.inference.requests", "ml.inference.errors", "ml.inference.rejections", "ml.inference.timeouts",
            "ml.inference.cache_hits", "ml.inference.queue_depth", "ml.deployment.allocations", "ml.inference.duration.p99"];
        var counters = "";
        for (var attempt = 0; attempt < 40 && !names.All(n => counters.Contains($"\"{n}\"", StringComparison.Ordinal)); attempt++)
        {
            if (attempt > 0) await Task.Delay(250);
            // The dashboard lists the silo once its grain has collected (empty for a moment after the node starts).
            var hosts = (await service.GetAsync("/dashboard/DashboardCounters")).AssertOk().Body["hosts"]!.AsArray();
            if (hosts.Select(h => h!["siloAddress"]!.GetValue<string>()).FirstOrDefault() is not { } address) continue;
            counters = (await service.GetAsync($"/dashboard/SiloCounters/{Uri.EscapeDataString(address)}")).AssertOk().Text;
        }
        foreach (var name in names) Assert.Contains($"\"{name}\"", counters);
        (await service.StopAsync(model)).AssertOk();
    }

    [Fact]
    public async Task The_scrape_endpoint_refuses_what_other_endpoints_refuse()
    {
        (await service.PostAsync("/_prometheus/metrics")).AssertError(405, "illegal_argument_exception", "Incorrect HTTP method for uri [/_prometheus/metrics] and method [POST]");
        (await service.GetAsync("/_prometheus/metrics?bogus=1"))
            .AssertError(400, "illegal_argument_exception", "request [/_prometheus/metrics] contains unrecognized parameter: [bogus]");
        var scrape = await service.Http.GetAsync("/_prometheus/metrics");
        Assert.Equal(HttpStatusCode.OK, scrape.StatusCode);
        Assert.StartsWith("text/plain", scrape.Content.Headers.ContentType!.ToString());
    }

    [Fact]
    public async Task An_api_only_process_serves_the_scrape_without_ml_metrics()
    {
        // The API as an Orleans client of this node's gateway: no executors there, so only Orleans' client instruments.
        await using var apiOnly = await Silo.SiloHost.StartAsync(
        [
            .. TestSecurity.Arguments,
            "--Urls=http://127.0.0.1:0",
            $"--Client:Gateways=127.0.0.1:{service.Node.Settings.GatewayPort}",
            "--Node:Name=api-only",
            "--Logging:LogLevel:Default=Warning",
        ]);
        using var http = TestSecurity.Client(apiOnly.BaseAddress, TimeSpan.FromSeconds(60));
        var response = await http.GetAsync("/_prometheus/metrics");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        Assert.DoesNotContain(Scrape.Parse(text).Samples, x => x.Name.StartsWith("ml_", StringComparison.Ordinal));
        (await http.SendJsonAsync(HttpMethod.Post, "/_prometheus/metrics")).AssertError(405, "illegal_argument_exception", "Incorrect HTTP method");
    }

    private async Task<Scrape> ScrapeAsync()
    {
        var response = await service.Http.GetAsync("/_prometheus/metrics");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return Scrape.Parse(text);
    }

    private sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

    /// <summary>The samples of a Prometheus text exposition.</summary>
    private sealed partial record Scrape(IReadOnlyList<Sample> Samples)
    {
        public IReadOnlySet<string> Names => Samples.Select(s => s.Name).ToHashSet();

        /// <summary>The sample of this deployment on our node (and the given extra labels); 0 if there is none.</summary>
        public double Value(string name, string deployment, params (string Name, string Value)[] labels)
        {
            var matches = Samples.Where(s => s.Name == name && s.Labels.GetValueOrDefault("deployment") == deployment
                                             && s.Labels.GetValueOrDefault("node") == Node
                                             && labels.All(l => s.Labels.GetValueOrDefault(l.Name) == l.Value)).ToArray();
            Assert.True(matches.Length <= 1, $"{name} has {matches.Length} series for {deployment}");
            return matches.Length == 0 ? 0 : matches[0].Value;
        }

        public static Scrape Parse(string text)
        {
            var samples = new List<Sample>();
            foreach (var line in text.Split('\n'))
            {
                if (line.Length == 0 || line.StartsWith('#')) continue;
                var match = SampleLine().Match(line);
                Assert.True(match.Success, $"not a sample line: {line}");
                var labels = LabelPair().Matches(match.Groups["labels"].Value).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
                var value = match.Groups["value"].Value switch
                {
                    "+Inf" => double.PositiveInfinity,
                    "-Inf" => double.NegativeInfinity,
                    var v => double.Parse(v, CultureInfo.InvariantCulture),
                };
                samples.Add(new Sample(match.Groups["name"].Value, labels, value));
            }
            return new Scrape(samples);
        }

        [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})?\s+(?<value>\S+)(\s+\S+)?$""")]
        private static partial Regex SampleLine();

        [GeneratedRegex(@"([a-zA-Z_][a-zA-Z0-9_]*)=""((?:[^""\\]|\\.)*)""")]
        private static partial Regex LabelPair();
    }
}
