using TrainedModelsOrleans.Grains.Deployments;
using Xunit;

namespace TrainedModelsOrleans.ControlPlaneRules.Tests;

public class UpdateAndStopRequestTests
{
    private static readonly Dictionary<string, string?> NoQuery = new();

    [Fact]
    public void Update_reads_allocations_and_timeout()
    {
        var request = UpdateDeploymentSettings.Parse("dep", new Dictionary<string, string?> { ["timeout"] = "1m" },
            """{"number_of_allocations":4,"timeout":"5s"}""");
        Assert.Equal(("dep", 4), (request.DeploymentId, request.NumberOfAllocations!.Value));
        Assert.Equal("1m", request.Timeout.StringRep);
        Assert.False(request.ResetAdaptiveAllocations);
    }

    [Fact]
    public void Update_without_a_body_is_refused()
    {
        Expect.Error(() => UpdateDeploymentSettings.Parse("dep", NoQuery, ""), 400, "parse_exception", "request body is required");
    }

    [Fact]
    public void Update_with_zero_allocations_is_refused()
    {
        Expect.Error(() => UpdateDeploymentSettings.Parse("dep", NoQuery, """{"number_of_allocations":0}"""), 400,
            "action_request_validation_exception", "Validation Failed: 1: [number_of_allocations] must be a positive integer;");
    }

    [Fact]
    public void Update_with_allocations_and_enabled_adaptive_allocations_is_refused()
    {
        Expect.Error(() => UpdateDeploymentSettings.Parse("dep", NoQuery,
                """{"number_of_allocations":2,"adaptive_allocations":{"enabled":true}}"""), 400,
            "action_request_validation_exception", "1: [number_of_allocations] cannot be set if adaptive allocations is enabled;");
    }

    [Fact]
    public void Update_with_null_adaptive_allocations_resets_them()
    {
        var request = UpdateDeploymentSettings.Parse("dep", NoQuery, """{"adaptive_allocations":null}""");
        Assert.True(request.ResetAdaptiveAllocations);
        Assert.Null(request.AdaptiveAllocations);
    }

    [Fact]
    public void Update_with_an_inconsistent_model_id_is_refused()
    {
        Expect.Error(() => UpdateDeploymentSettings.Parse("dep", NoQuery, """{"model_id":"x","number_of_allocations":1}"""), 400,
            "status_exception", "Inconsistent model_id; 'x' specified in the body differs from 'dep' specified as a URL argument");
    }

    [Fact]
    public void Update_with_an_unknown_field_is_refused()
    {
        Expect.Error(() => UpdateDeploymentSettings.Parse("dep", NoQuery, """{"threads_per_allocation":2}"""), 400,
            "x_content_parse_exception", "[cluster:admin/xpack/ml/trained_models/deployment/update] unknown field [threads_per_allocation]");
    }

    [Fact]
    public void Stop_defaults_allow_no_match_to_true()
    {
        var request = StopDeploymentSettings.Parse("dep", NoQuery, "");
        Assert.Equal(("dep", true, false, false), (request.DeploymentId, request.AllowNoMatch, request.Force, request.FinishPendingWork));
    }

    [Fact]
    public void Stop_reads_body_and_query()
    {
        var fromBody = StopDeploymentSettings.Parse("dep", NoQuery, """{"allow_no_match":false,"force":"true","finish_pending_work":true}""");
        Assert.Equal((false, true, true), (fromBody.AllowNoMatch, fromBody.Force, fromBody.FinishPendingWork));
        var fromQuery = StopDeploymentSettings.Parse("dep", new Dictionary<string, string?> { ["force"] = "", ["allow_no_match"] = "false" }, "");
        Assert.Equal((false, true), (fromQuery.AllowNoMatch, fromQuery.Force));
    }

    [Fact]
    public void Stop_with_an_inconsistent_model_id_is_an_illegal_argument()
    {
        Expect.Error(() => StopDeploymentSettings.Parse("dep", NoQuery, """{"model_id":"x"}"""), 400, "illegal_argument_exception",
            "Inconsistent model_id; 'x' specified in the body differs from 'dep' specified as a URL argument");
    }

    [Fact]
    public void Stop_with_a_bad_boolean_is_refused()
    {
        Expect.Error(() => StopDeploymentSettings.Parse("dep", new Dictionary<string, string?> { ["force"] = "yes" }, ""), 400,
            "illegal_argument_exception", "Failed to parse value [yes] as only [true] or [false] are allowed.");
    }
}
