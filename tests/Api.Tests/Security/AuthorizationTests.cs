using System.Net;
using System.Text.Json.Nodes;
using TrainedModelsOrleans.TestSupport;
using Xunit;

namespace TrainedModelsOrleans.Api.Tests.Security;

/// <summary>Each built-in role allowed and refused on representative routes, with ES's 403 text.</summary>
[Collection(SecuredServiceCollection.Name)]
public sealed class AuthorizationTests(ServiceFixture service)
{
    private const string Password = "role-test-password";

    private static string Denied(string action, string user, string roles, string privileges) =>
        $"action [{action}] is unauthorized for user [{user}] with effective roles [{roles}], this action is granted by the cluster privileges [{privileges}]";

    [Fact]
    public async Task Machine_learning_user_reads_and_infers_but_cannot_start_or_manage_pipelines()
    {
        var user = MlApi.NewId("mluser");
        var as_ = await service.CreateUserAsync(user, Password, "machine_learning_user");
        (await service.SendAsAsync(as_, HttpMethod.Get, "/_ml/trained_models")).AssertOk();
        (await service.SendAsAsync(as_, HttpMethod.Get, "/_ml/trained_models/_stats")).AssertOk();
        (await service.SendAsAsync(as_, HttpMethod.Get, "/_ml/ui")).AssertOk();
        // Authorized: the model's absence is what answers.
        (await service.SendAsAsync(as_, HttpMethod.Post, "/_ml/trained_models/no-such-model/_infer",
            new JsonObject { ["docs"] = new JsonArray(new JsonObject { ["input"] = "x" }) })).AssertError(404, "resource_not_found_exception", "no-such-model");

        (await service.SendAsAsync(as_, HttpMethod.Post, "/_ml/trained_models/no-such-model/deployment/_start"))
            .AssertError(403, "security_exception", "");
        var start = await service.SendAsAsync(as_, HttpMethod.Post, "/_ml/trained_models/no-such-model/deployment/_start");
        Assert.Equal(Denied("cluster:admin/xpack/ml/trained_models/deployment/start", user, "machine_learning_user", "manage_ml,manage,all"),
            start.Body["error"]!["reason"]!.GetValue<string>());
        (await service.SendAsAsync(as_, HttpMethod.Put, "/_ingest/pipeline/p1", new JsonObject { ["processors"] = new JsonArray() }))
            .AssertError(403, "security_exception", Denied("cluster:admin/ingest/pipeline/put", user, "machine_learning_user",
                "manage_ingest_pipelines,manage_pipeline,manage,all"));
        (await service.SendAsAsync(as_, HttpMethod.Get, "/_prometheus/metrics")).AssertError(403, "security_exception",
            "action [cluster:monitor/prometheus/metrics] is unauthorized");
        (await service.SendAsAsync(as_, HttpMethod.Get, "/dashboard")).AssertError(403, "security_exception",
            "action [cluster:monitor/orleans/dashboard] is unauthorized");
        (await service.SendAsAsync(as_, HttpMethod.Get, "/dashboard/")).AssertError(403, "security_exception",
            "action [cluster:monitor/orleans/dashboard] is unauthorized");
        (await service.SendAsAsync(null, HttpMethod.Get, "/dashboard/")).AssertUnauthorized("missing authentication credentials for REST request [/dashboard/]");
        (await service.SendAsAsync(as_, HttpMethod.Get, "/_security/user")).AssertError(403, "security_exception",
            Denied("cluster:admin/xpack/security/user/get", user, "machine_learning_user", "read_security,manage_security,all"));
    }

    [Fact]
    public async Task Machine_learning_admin_manages_models_and_pipelines_but_not_monitoring_or_security()
    {
        var user = MlApi.NewId("mladmin");
        var as_ = await service.CreateUserAsync(user, Password, "machine_learning_admin");
        (await service.SendAsAsync(as_, HttpMethod.Post, "/_ml/trained_models/no-such-model/deployment/_start"))
            .AssertError(404, "resource_not_found_exception", "no-such-model");
        var pipeline = MlApi.NewId("admin-pipeline");
        (await service.SendAsAsync(as_, HttpMethod.Put, $"/_ingest/pipeline/{pipeline}", new JsonObject { ["processors"] = new JsonArray() })).AssertOk();
        (await service.SendAsAsync(as_, HttpMethod.Delete, $"/_ingest/pipeline/{pipeline}")).AssertOk();
        (await service.SendAsAsync(as_, HttpMethod.Get, "/_ml/ui")).AssertOk();
        (await service.SendAsAsync(as_, HttpMethod.Get, "/_prometheus/metrics")).AssertError(403, "security_exception",
            Denied("cluster:monitor/prometheus/metrics", user, "machine_learning_admin", "monitor,manage,all"));
        (await service.SendAsAsync(as_, HttpMethod.Post, "/_security/api_key", new JsonObject { ["name"] = "k" }))
            .AssertError(403, "security_exception", "action [cluster:admin/xpack/security/api_key/create] is unauthorized");
    }

    [Fact]
    public async Task Monitor_sees_the_page_the_dashboard_and_the_metrics_but_changes_nothing()
    {
        var user = MlApi.NewId("watcher");
        var as_ = await service.CreateUserAsync(user, Password, "monitor");
        (await service.SendAsAsync(as_, HttpMethod.Get, "/")).AssertOk();
        (await service.SendAsAsync(as_, HttpMethod.Get, "/_ml/ui")).AssertOk();
        (await service.SendAsAsync(as_, HttpMethod.Get, "/_prometheus/metrics")).AssertOk();
        // HttpClient drops credentials on a redirect (/dashboard → /dashboard/): ask for the page itself.
        var dashboard = await service.SendAsAsync(as_, HttpMethod.Get, "/dashboard/");
        Assert.True(dashboard.Status == HttpStatusCode.OK, dashboard.Text);
        // The dashboard's live log stream is off: it would carry every log line (client text, a generated password).
        var trace = await service.SendAsAsync(as_, HttpMethod.Get, "/dashboard/Trace");
        Assert.True(trace.Status == HttpStatusCode.Forbidden && trace.Text.Contains("Trace Endpoint Disabled", StringComparison.Ordinal), trace.Text);
        (await service.SendAsAsync(as_, HttpMethod.Get, "/_cat/ml/trained_models")).AssertOk();
        // A method a route does not take is ES's 405 whoever asks, not a 403 for an action that does not exist.
        (await service.SendAsAsync(as_, HttpMethod.Delete, "/_ml/info")).AssertError(405, "illegal_argument_exception",
            "Incorrect HTTP method for uri [/_ml/info] and method [DELETE]");
        (await service.SendAsAsync(as_, HttpMethod.Delete, "/_ml/trained_models/anything"))
            .AssertError(403, "security_exception", Denied("cluster:admin/xpack/ml/inference/delete", user, "monitor", "manage_ml,manage,all"));
    }

    [Fact]
    public async Task Monitor_ml_reads_ml_only()
    {
        var user = MlApi.NewId("mlwatch");
        var as_ = await service.CreateUserAsync(user, Password, "monitor_ml");
        (await service.SendAsAsync(as_, HttpMethod.Get, "/_ml/trained_models/_stats")).AssertOk();
        (await service.SendAsAsync(as_, HttpMethod.Get, "/_ml/info")).AssertOk();
        (await service.SendAsAsync(as_, HttpMethod.Get, "/")).AssertError(403, "security_exception",
            Denied("cluster:monitor/main", user, "monitor_ml", "monitor,manage,all"));
        (await service.SendAsAsync(as_, HttpMethod.Get, "/_prometheus/metrics")).AssertError(403, "security_exception", "is unauthorized");
    }

    [Fact]
    public async Task A_user_without_roles_may_only_see_who_they_are()
    {
        var user = MlApi.NewId("noroles");
        var as_ = await service.CreateUserAsync(user, Password);
        Assert.Equal(user, (await service.SendAsAsync(as_, HttpMethod.Get, "/_security/_authenticate")).AssertOk().Body["username"]!.GetValue<string>());
        (await service.SendAsAsync(as_, HttpMethod.Get, "/_ml/trained_models")).AssertError(403, "security_exception",
            Denied("cluster:monitor/xpack/ml/inference/get", user, "", "monitor_ml,monitor,manage_ml,manage,all"));
        // Another user's password is not theirs to change.
        (await service.SendAsAsync(as_, HttpMethod.Post, "/_security/user/elastic/_password", new JsonObject { ["password"] = "taken-over" }))
            .AssertError(403, "security_exception", "action [cluster:admin/xpack/security/user/change_password] is unauthorized");
    }

    [Fact]
    public async Task Superuser_reaches_everything()
    {
        var user = MlApi.NewId("root");
        var as_ = await service.CreateUserAsync(user, Password, "superuser");
        (await service.SendAsAsync(as_, HttpMethod.Get, "/_security/user")).AssertOk();
        (await service.SendAsAsync(as_, HttpMethod.Get, "/_prometheus/metrics")).AssertOk();
        (await service.SendAsAsync(as_, HttpMethod.Post, "/_ml/trained_models/no-such-model/deployment/_start"))
            .AssertError(404, "resource_not_found_exception", "no-such-model");
    }
}
