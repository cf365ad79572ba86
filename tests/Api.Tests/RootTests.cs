using System.Net;
using Xunit;

namespace TrainedModelsOrleans.Api.Tests;

public sealed class RootTests(ServiceFixture service) : IClassFixture<ServiceFixture>
{
    [Fact]
    public async Task Root_reports_an_8x_cluster_and_the_product_header()
    {
        var response = (await service.GetAsync("/")).AssertOk();
        Assert.StartsWith("8.", response.Body["version"]!["number"]!.GetValue<string>());
        Assert.Equal("trained-models-orleans", response.Body["cluster_name"]!.GetValue<string>());
        Assert.Equal("api-test-node", response.Body["name"]!.GetValue<string>());
        Assert.Equal("Elasticsearch", response.Headers["X-Elastic-Product"]);
        // Elasticsearch sends no Server header (Kestrel's is switched off).
        Assert.False(response.Headers.ContainsKey("Server"));
    }

    [Fact]
    public async Task A_new_model_config_carries_the_version_the_cluster_reports()
    {
        var version = (await service.GetAsync("/")).AssertOk().Body["version"]!["number"]!.GetValue<string>();
        Assert.Equal("8.9.0", version);
        var id = Deployments.NewId("versioned");
        var config = (await service.PutAsync($"/_ml/trained_models/{id}", TestSupport.ModelUploads.OnnxConfig())).AssertOk().Body;
        Assert.Equal(version, config["version"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_orleans_dashboard_is_served_on_the_api_port_and_shows_our_grains()
    {
        var page = await service.Http.GetAsync("/dashboard/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("<html", await page.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);

        (await service.PutAsync($"/_ml/trained_models/{Deployments.NewId("dashboard")}", TestSupport.ModelUploads.OnnxConfig())).AssertOk();
        // The dashboard gathers activation counts from the silos about once a second.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        string counters;
        do
        {
            counters = await service.Http.GetStringAsync("/dashboard/DashboardCounters");
            if (counters.Contains("TrainedModelGrain", StringComparison.Ordinal) && counters.Contains("MlIdsGrain", StringComparison.Ordinal)) return;
            await Task.Delay(200);
        } while (DateTime.UtcNow < deadline);
        Assert.Fail($"the dashboard's counters do not list our grains: {counters[..Math.Min(counters.Length, 500)]}");
    }

    [Fact]
    public async Task Errors_carry_the_product_header_and_elasticsearch_error_shape()
    {
        var response = await service.GetAsync("/_no_such_api");
        response.AssertError(400, "illegal_argument_exception", "no handler found for uri [/_no_such_api] and method [GET]");
        Assert.Equal("Elasticsearch", response.Headers["X-Elastic-Product"]);
    }

    [Fact]
    public async Task Compatible_media_type_requests_get_compatible_responses()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/");
        request.Headers.TryAddWithoutValidation("Accept", "application/vnd.elasticsearch+json; compatible-with=8");
        using var response = await service.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("compatible-with=8", response.Content.Headers.ContentType!.ToString());
    }
}
