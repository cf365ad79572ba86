using TrainedModelsOrleans.TestSupport;
using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Playwright;
using TrainedModelsOrleans.Silo;
using TrainedModelsOrleans.TestModels;
using Xunit;
using Xunit.Abstractions;

namespace TrainedModelsOrleans.Ui.Tests;

/// <summary>
/// The ML page in Debian's Chromium against a running service with two deployments under a bounded load: both show,
/// their numbers move, a stopped one disappears; a screenshot at 1366×768 is saved; the Orleans dashboard lists our
/// grain types.
/// </summary>
[Collection(MlPageCollection.Name)]
public sealed class MlPageTests(MlPageFixture service, ITestOutputHelper output)
{
    private const float WaitMs = 20_000;

    [Fact]
    public async Task Page_shows_two_loaded_deployments_live_drops_a_stopped_one_and_links_the_dashboard()
    {
        // Opened before anything runs: the empty state with its hint.
        var page = await service.Browser.NewPageAsync(new BrowserNewPageOptions { HttpCredentials = MlPageFixture.Credentials, ViewportSize = new ViewportSize { Width = 1366, Height = 768 } });
        page.SetDefaultTimeout(WaitMs);
        await page.GotoAsync(new Uri(service.Node.BaseAddress, "/_ml/ui").ToString());
        await page.Locator("#refresh-status[data-state='live']").WaitForAsync();
        Assert.True(await page.Locator("#deployments-empty").IsVisibleAsync());
        Assert.Contains("deployment/_start", await page.Locator("#deployments-empty").InnerTextAsync());
        Assert.Equal(0, await page.Locator("tr.deployment").CountAsync());
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = ArtifactPath("ml-page-empty-1366x768.png") });

        var first = MlApi.NewId("ui-a");
        var second = MlApi.NewId("ui-b");
        await service.Http.UploadOnnxModelAsync(first, TestOnnxModels.Mlp());
        await service.Http.UploadOnnxModelAsync(second, TestOnnxModels.Mlp(seed: 2));
        (await service.Http.StartDeploymentAsync(first, "wait_for=started")).AssertOk();
        (await service.Http.StartDeploymentAsync(second, "wait_for=started&number_of_allocations=2")).AssertOk();
        (await service.Http.SendJsonAsync(HttpMethod.Put, $"/_ml/trained_models/{first}/model_aliases/ui-alias")).AssertOk();

        // Bounded load: each loop stops after 60 s or 20,000 requests, and when the test ends.
        using var stopLoad = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var load = Task.WhenAll(InferLoopAsync(first, stopLoad.Token), InferLoopAsync(second, stopLoad.Token));
        try
        {
            // The deployments appear in the open page at a refresh.
            var firstRow = page.Locator($"tr.deployment[data-deployment-id='{first}']");
            var secondRow = page.Locator($"tr.deployment[data-deployment-id='{second}']");
            await firstRow.WaitForAsync();
            await secondRow.WaitForAsync();
            Assert.Contains("started", await firstRow.Locator("td").Nth(1).InnerTextAsync());
            Assert.Contains("2 / 2", await secondRow.Locator("td").Nth(2).InnerTextAsync());

            // The numbers move: the same cell read twice, a refresh apart, counts more.
            var count = firstRow.Locator("[data-field='inference_count']");
            var before = await ReadCountAsync(count);
            await page.WaitForFunctionAsync(
                "([selector, before]) => { const c = document.querySelector(selector); return c && Number(c.textContent.replace(/,/g, '')) > before; }",
                new object[] { $"tr.deployment[data-deployment-id='{first}'] [data-field='inference_count']", before },
                new PageWaitForFunctionOptions { Timeout = WaitMs });
            var after = await ReadCountAsync(count);
            Assert.True(after > before, $"inference_count went from {before} to {after}");
            // p99 as the node reports it in _stats (nodes[].inference_time_p99_ms): a number, not the "—" of no data.
            await page.WaitForFunctionAsync(
                "selector => { const c = document.querySelector(selector); return c && /^[0-9.,]+$/.test(c.textContent.trim()); }",
                $"tr.deployment[data-deployment-id='{first}'] [data-field='inference_time_p99_ms']");

            // The node holds 1 + 2 allocations of one thread; the alias is listed with its model.
            var node = page.Locator($"#nodes-body tr[data-node='{MlPageFixture.NodeName}']");
            Assert.Contains($"3 / {MlPageFixture.Processors}", await node.InnerTextAsync());
            Assert.Contains("ui-alias", await page.Locator($"#models-body tr[data-model-id='{first}']").InnerTextAsync());
            // Two samples make a rate: the throughput cell shows a number, and both deployments have their charts.
            await page.WaitForFunctionAsync(
                "selector => { const c = document.querySelector(selector); return c && /[0-9]/.test(c.textContent); }",
                $"tr.deployment[data-deployment-id='{first}'] [data-field='rate']");
            Assert.Equal(2, await page.Locator(".chart-card canvas").CountAsync() / 2);
            // A few samples drawn before the screenshot, so that it shows lines rather than points.
            await page.WaitForFunctionAsync("id => window.mlPage.samples(id) >= 4", first);
            Assert.True(await page.Locator("#error-banner").IsHiddenAsync());

            var screenshot = ArtifactPath("ml-page-1366x768.png");
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = screenshot });

            // A stopped deployment leaves the page at the next refresh.
            await stopLoad.CancelAsync();
            await load;
            (await service.Http.StopDeploymentAsync(second)).AssertOk();
            await secondRow.WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Detached });
            await page.Locator($".chart-card[data-deployment-id='{second}']").WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Detached });
            Assert.Equal(1, await firstRow.CountAsync());

            // The page links to the Orleans dashboard, and the dashboard lists our grain types (its grain view, with
            // the calls this test made).
            Assert.Equal("/dashboard", await page.Locator("#dashboard-link").GetAttributeAsync("href"));
            await page.GotoAsync(new Uri(service.Node.BaseAddress, "/dashboard/#/grains").ToString());
            foreach (var grain in new[] { "Deployments.DeploymentGrain", "Serving.InferenceWorkerGrain", "Serving.NodeCapacityGrain" })
                await page.Locator($"a[href='#/grain/TrainedModelsOrleans.Grains.{grain}']").First.WaitForAsync();
            await page.CloseAsync();
        }
        finally
        {
            await stopLoad.CancelAsync();
            await load;
            await service.Http.StopDeploymentAsync(first);
            await service.Http.StopDeploymentAsync(second);
        }
    }

    [Fact]
    public async Task Page_works_through_an_api_only_process()
    {
        var model = MlApi.NewId("ui-client");
        await service.Http.UploadOnnxModelAsync(model, TestOnnxModels.Mlp());
        (await service.Http.StartDeploymentAsync(model, "wait_for=started")).AssertOk();
        // The API alone, an Orleans client of the silo's gateway (README: A cluster of silos).
        await using var apiOnly = await SiloHost.StartAsync(
        [
            .. TestSecurity.Arguments,
            "--Urls=http://127.0.0.1:0",
            $"--Client:Gateways=127.0.0.1:{service.Node.Settings.GatewayPort}",
            "--Logging:LogLevel:Default=Warning",
        ]);
        try
        {
            var page = await service.Browser.NewPageAsync(new BrowserNewPageOptions { HttpCredentials = MlPageFixture.Credentials, ViewportSize = new ViewportSize { Width = 1366, Height = 768 } });
            page.SetDefaultTimeout(WaitMs);
            await page.GotoAsync(new Uri(apiOnly.BaseAddress, "/_ml/ui").ToString());
            await page.Locator($"tr.deployment[data-deployment-id='{model}']").WaitForAsync();
            await page.Locator($"#nodes-body tr[data-node='{MlPageFixture.NodeName}']").WaitForAsync();
            Assert.True(await page.Locator("#error-banner").IsHiddenAsync());
            // This process serves no dashboard: the link says where it is instead of leading to an error.
            await page.WaitForFunctionAsync("() => !document.getElementById('dashboard-link').hasAttribute('href')");
            await page.CloseAsync();
        }
        finally
        {
            (await service.Http.StopDeploymentAsync(model)).AssertOk();
        }
    }

    [Fact]
    public async Task P99_shows_the_worst_node_and_a_failed_refresh_keeps_the_last_data_under_a_banner()
    {
        var model = MlApi.NewId("ui-p99");
        await service.Http.UploadOnnxModelAsync(model, TestOnnxModels.Mlp());
        (await service.Http.StartDeploymentAsync(model, "wait_for=started")).AssertOk();
        try
        {
            var page = await service.Browser.NewPageAsync(new BrowserNewPageOptions { HttpCredentials = MlPageFixture.Credentials, ViewportSize = new ViewportSize { Width = 1920, Height = 1080 } });
            page.SetDefaultTimeout(WaitMs);
            for (var i = 0; i < 10; i++)
                (await service.Http.SendJsonAsync(HttpMethod.Post, $"/_ml/trained_models/{model}/_infer", InferBody(i))).AssertOk();
            // A second node is added to the real answer (this service has one), slower than the real one: the
            // deployment's row shows the worst node's p99, each node's row its own.
            var failStats = false;
            await page.RouteAsync("**/_ml/trained_models/_stats*", async route =>
            {
                if (failStats)
                {
                    await route.FulfillAsync(new RouteFulfillOptions
                    {
                        Status = 503, ContentType = "application/json",
                        Body = """{"error":{"type":"node_not_connected_exception","reason":"test outage"},"status":503}""",
                    });
                    return;
                }
                var real = await route.FetchAsync();
                var body = JsonNode.Parse(await real.TextAsync())!;
                foreach (var entry in body["trained_model_stats"]!.AsArray())
                    if (entry!["deployment_stats"]?["nodes"]?.AsArray() is [{ } measured, ..] nodes)
                    {
                        var slower = measured.DeepClone().AsObject();
                        slower["node"] = new JsonObject { ["slow-node"] = new JsonObject { ["name"] = "slow-node" } };
                        slower["inference_time_p99_ms"] = 98_765.0; // beyond any real run here (_infer times out at 10 s)
                        nodes.Add(slower);
                    }
                await route.FulfillAsync(new RouteFulfillOptions { Response = real, Body = body.ToJsonString() });
            });
            await page.GotoAsync(new Uri(service.Node.BaseAddress, "/_ml/ui").ToString());

            var row = page.Locator($"tr.deployment[data-deployment-id='{model}']");
            await row.WaitForAsync();
            Assert.Equal("98,765", (await row.Locator("[data-field='inference_time_p99_ms']").InnerTextAsync()).Trim());
            var routes = page.Locator($"tr.route[data-deployment-id='{model}']");
            Assert.Equal(2, await routes.CountAsync());
            var realP99 = (await page.Locator($"tr.route[data-deployment-id='{model}'][data-node='{MlPageFixture.NodeName}'] [data-field='inference_time_p99_ms']")
                .InnerTextAsync()).Trim();
            Assert.True(double.TryParse(realP99.Replace(",", "", StringComparison.Ordinal), CultureInfo.InvariantCulture, out var p99) && p99 is > 0 and < 98_765,
                $"the real node's p99: '{realP99}'");

            failStats = true;
            await page.Locator("#error-banner").WaitForAsync();
            Assert.Contains("503", await page.Locator("#error-text").InnerTextAsync());
            Assert.Contains("test outage", await page.Locator("#error-text").InnerTextAsync());
            Assert.Equal(1, await row.CountAsync());

            failStats = false;
            await page.Locator("#error-banner").WaitForAsync(new LocatorWaitForOptions { State = WaitForSelectorState.Hidden });
            await page.CloseAsync();
        }
        finally
        {
            (await service.Http.StopDeploymentAsync(model)).AssertOk();
        }
    }

    /// <summary>A file in the test's output folder (artifacts/), its path printed with the test's output.</summary>
    private string ArtifactPath(string name)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "artifacts", name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        output.WriteLine($"screenshot: {path}");
        return path;
    }

    private static async Task<long> ReadCountAsync(ILocator cell) =>
        long.Parse((await cell.InnerTextAsync()).Replace(",", "", StringComparison.Ordinal).Trim(), CultureInfo.InvariantCulture);

    private async Task InferLoopAsync(string deploymentId, CancellationToken stop)
    {
        for (var i = 0; i < 20_000 && !stop.IsCancellationRequested; i++)
        {
            try
            {
                await service.Http.SendJsonAsync(HttpMethod.Post, $"/_ml/trained_models/{deploymentId}/_infer", InferBody(i), cancellationToken: stop);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
        }
    }

    /// <summary>One document for the 64-input MLP, different for each i (so mostly cache misses).</summary>
    private static JsonObject InferBody(int i) => new()
    {
        ["docs"] = new JsonArray(new JsonObject
        {
            ["tensor"] = new JsonObject
            {
                ["shape"] = new JsonArray(1, 64),
                ["data"] = new JsonArray(Enumerable.Range(0, 64).Select(j => (JsonNode?)(i * 1e-4f + j / 64f)).ToArray()),
            },
        }),
    };
}
