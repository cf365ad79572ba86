using TrainedModelsOrleans.Grains.Deployments;
using Xunit;

namespace TrainedModelsOrleans.ControlPlaneRules.Tests;

public class StartDeploymentRequestTests
{
    private static readonly Dictionary<string, string?> NoQuery = new();

    private static Dictionary<string, string?> Query(params (string Key, string? Value)[] values) =>
        values.ToDictionary(v => v.Key, v => v.Value);

    private static StartDeploymentSettings Start(string body = "", Dictionary<string, string?>? query = null) =>
        StartDeploymentSettings.Parse("my-model", query ?? NoQuery, body);

    [Fact]
    public void Defaults_follow_our_documented_values()
    {
        var request = Start();
        Assert.Equal("my-model", request.ModelId);
        Assert.Equal("my-model", request.DeploymentId);
        Assert.Null(request.NumberOfAllocations);
        Assert.Equal(1, request.EffectiveNumberOfAllocations);
        Assert.Equal(1, request.ThreadsPerAllocation);
        Assert.Equal(1024, request.QueueCapacity);
        Assert.Null(request.CacheSize);
        Assert.Equal(Priority.Normal, request.Priority);
        Assert.Equal("30s", request.Timeout.StringRep);
        Assert.Equal(AllocationState.Started, request.WaitFor);
        Assert.Null(request.AdaptiveAllocations);
    }

    [Fact]
    public void Body_sets_every_parameter()
    {
        var request = Start("""
            {"model_id":"my-model","timeout":"1m","wait_for":"fully_allocated","number_of_allocations":3,
             "threads_per_allocation":4,"queue_capacity":10,"cache_size":"10kb","priority":"NORMAL"}
            """);
        Assert.Equal(3, request.NumberOfAllocations);
        Assert.Equal(4, request.ThreadsPerAllocation);
        Assert.Equal(10, request.QueueCapacity);
        Assert.Equal("10kb", request.CacheSize!.Value.StringRep);
        Assert.Equal(10240, request.CacheSize.Value.Bytes);
        Assert.Equal("1m", request.Timeout.StringRep);
        Assert.Equal(AllocationState.FullyAllocated, request.WaitFor);
    }

    [Fact]
    public void Query_values_override_the_body()
    {
        var request = Start("""{"number_of_allocations":2,"threads_per_allocation":2,"queue_capacity":5,"priority":"normal","timeout":"5s"}""",
            Query(("number_of_allocations", "4"), ("threads_per_allocation", "8"), ("queue_capacity", "7"), ("timeout", "10s"),
                ("wait_for", "starting"), ("cache_size", "0"), ("deployment_id", "for-search")));
        Assert.Equal((4, 8, 7), (request.NumberOfAllocations!.Value, request.ThreadsPerAllocation, request.QueueCapacity));
        Assert.Equal("10s", request.Timeout.StringRep);
        Assert.Equal(AllocationState.Starting, request.WaitFor);
        Assert.Equal("0", request.CacheSize!.Value.StringRep);
        Assert.Equal("for-search", request.DeploymentId);
    }

    [Fact]
    public void Body_deployment_id_is_replaced_by_the_query_or_model_id_as_es_does()
    {
        Assert.Equal("my-model", Start("""{"deployment_id":"other"}""").DeploymentId);
    }

    [Fact]
    public void Legacy_names_are_accepted_with_a_deprecation_warning()
    {
        var fromBody = Start("""{"model_threads":2,"inference_threads":2}""");
        Assert.Equal((2, 2), (fromBody.NumberOfAllocations!.Value, fromBody.ThreadsPerAllocation));
        Assert.Contains("Deprecated field [model_threads] used, expected [number_of_allocations] instead", fromBody.Warnings);
        Assert.Contains("Deprecated field [inference_threads] used, expected [threads_per_allocation] instead", fromBody.Warnings);

        var fromQuery = Start(query: Query(("model_threads", "3"), ("number_of_allocations", "5")));
        Assert.Equal(3, fromQuery.NumberOfAllocations);
    }

    [Fact]
    public void Priority_is_case_insensitive()
    {
        Assert.Equal(Priority.Low, Start(query: Query(("priority", "LoW"))).Priority);
    }

    [Fact]
    public void Inconsistent_model_id_in_the_body_is_refused()
    {
        Expect.Error(() => Start("""{"model_id":"other"}"""), 400, "status_exception",
            "Inconsistent model_id; 'other' specified in the body differs from 'my-model' specified as a URL argument");
    }

    [Fact]
    public void Unknown_body_field_is_refused_with_the_parser_error()
    {
        Expect.Error(() => Start("""{"queue_capacit":2}"""), 400, "x_content_parse_exception",
            "[1:2] [cluster:admin/xpack/ml/trained_models/deployment/start] unknown field [queue_capacit] did you mean [queue_capacity]?");
    }

    [Fact]
    public void Timeout_of_the_wrong_type_is_refused()
    {
        Expect.Error(() => Start("""{"timeout":30}"""), 400, "x_content_parse_exception",
            "[cluster:admin/xpack/ml/trained_models/deployment/start] timeout doesn't support values of type: VALUE_NUMBER");
    }

    [Fact]
    public void Bad_time_in_the_body_is_wrapped_with_its_cause()
    {
        var e = Expect.Error(() => Start("""{"timeout":"30"}"""), 400, "x_content_parse_exception", "failed to parse field [timeout]");
        e.RootIs("illegal_argument_exception", "failed to parse setting [timeout] with value [30] as a time value: unit is missing or unrecognized");
    }

    [Fact]
    public void Bad_integer_in_the_query_is_refused()
    {
        Expect.Error(() => Start(query: Query(("number_of_allocations", "x"))), 400, "illegal_argument_exception",
            "Failed to parse int parameter [number_of_allocations] with value [x]");
        Expect.Error(() => Start(query: Query(("queue_capacity", "1.5"))), 400, "illegal_argument_exception",
            "Failed to parse int parameter [queue_capacity] with value [1.5]");
    }

    [Fact]
    public void Cache_size_without_a_unit_is_refused()
    {
        Expect.Error(() => Start(query: Query(("cache_size", "1024"))), 400, "parse_exception",
            "failed to parse setting [cache_size] with value [1024] as a size in bytes: unit is missing or unrecognized");
    }

    [Fact]
    public void Unknown_priority_and_wait_for_are_refused()
    {
        Expect.Error(() => Start(query: Query(("priority", "high"))), 400, "illegal_argument_exception",
            "No enum constant org.elasticsearch.xpack.core.ml.inference.assignment.Priority.HIGH");
        Expect.Error(() => Start(query: Query(("wait_for", "done"))), 400, "illegal_argument_exception",
            "No enum constant org.elasticsearch.xpack.core.ml.inference.assignment.AllocationStatus.State.DONE");
    }

    [Fact]
    public void Zero_allocations_are_refused()
    {
        Expect.Error(() => Start(query: Query(("number_of_allocations", "0"))), 400, "action_request_validation_exception",
            "Validation Failed: 1: [number_of_allocations] must be a positive integer;");
    }

    [Fact]
    public void Zero_threads_break_two_rules()
    {
        Expect.Error(() => Start(query: Query(("threads_per_allocation", "0"))), 400, "action_request_validation_exception",
            "Validation Failed: 1: [threads_per_allocation] must be a positive integer;2: [threads_per_allocation] must be a power of 2 less than or equal to 32;");
    }

    [Theory]
    [InlineData(3)]
    [InlineData(64)]
    public void Threads_must_be_a_power_of_two_up_to_32(int threads)
    {
        Expect.Error(() => Start(query: Query(("threads_per_allocation", threads.ToString()))), 400, "action_request_validation_exception",
            "1: [threads_per_allocation] must be a power of 2 less than or equal to 32;");
    }

    [Fact]
    public void Queue_capacity_equal_to_the_maximum_is_accepted_and_above_refused()
    {
        Assert.Equal(1_000_000, Start(query: Query(("queue_capacity", "1000000"))).QueueCapacity);
        Expect.Error(() => Start(query: Query(("queue_capacity", "1000001"))), 400, "action_request_validation_exception",
            "1: [queue_capacity] must be less than 1000000;");
        Expect.Error(() => Start(query: Query(("queue_capacity", "0"))), 400, "action_request_validation_exception",
            "1: [queue_capacity] must be a positive integer;");
    }

    [Theory]
    [InlineData("0s")]
    [InlineData("-1")]
    public void Timeout_must_be_positive(string timeout)
    {
        Expect.Error(() => Start(query: Query(("timeout", timeout))), 400, "action_request_validation_exception", "1: [timeout] must be positive;");
    }

    [Fact]
    public void Low_priority_allows_one_allocation_of_one_thread()
    {
        Expect.Error(() => Start(query: Query(("priority", "low"), ("number_of_allocations", "3"))), 400, "action_request_validation_exception",
            "[number_of_allocations] must be 1 when [priority] is low");
        Expect.Error(() => Start(query: Query(("priority", "low"), ("threads_per_allocation", "4"))), 400, "action_request_validation_exception",
            "[threads_per_allocation] must be 1 when [priority] is low");
    }

    [Fact]
    public void Every_broken_rule_is_listed_in_es_order()
    {
        var e = Expect.Error(() => Start(
                """{"adaptive_allocations":{"enabled":true,"min_number_of_allocations":5,"max_number_of_allocations":2}}""",
                Query(("number_of_allocations", "0"), ("threads_per_allocation", "3"), ("queue_capacity", "2000000"),
                    ("timeout", "0ms"), ("priority", "low"))),
            400, "action_request_validation_exception", "Validation Failed: ");
        Assert.Equal(
            "Validation Failed: " +
            "1: [number_of_allocations] must be a positive integer;" +
            "2: [number_of_allocations] cannot be set if adaptive allocations is enabled;" +
            "3: [min_number_of_allocations] must not be larger than [max_number_of_allocations];" +
            "4: [threads_per_allocation] must be a power of 2 less than or equal to 32;" +
            "5: [queue_capacity] must be less than 1000000;" +
            "6: [timeout] must be positive;" +
            "7: [threads_per_allocation] must be 1 when [priority] is low;",
            e.Reason);
    }

    [Fact]
    public void Adaptive_allocations_are_parsed_validated_and_give_the_default_count()
    {
        var request = Start("""{"adaptive_allocations":{"enabled":true,"min_number_of_allocations":2,"max_number_of_allocations":null}}""");
        Assert.Equal(new AdaptiveAllocationsSettings { Enabled = true, MinNumberOfAllocations = 2, MaxNumberOfAllocations = -1 }, request.AdaptiveAllocations);
        Assert.Equal(2, request.EffectiveNumberOfAllocations);

        Expect.Error(() => Start("""{"adaptive_allocations":{"min_number_of_allocations":-2,"max_number_of_allocations":0}}"""),
            400, "action_request_validation_exception",
            "1: [min_number_of_allocations] must be a non-negative integer or null;2: [max_number_of_allocations] must be a positive integer or null;");
        Expect.Error(() => Start("""{"adaptive_allocations":{"enable":true}}"""), 400, "x_content_parse_exception", "failed to parse field [adaptive_allocations]");
    }

    [Fact]
    public void Task_parameters_default_the_cache_size_to_the_model_size_as_es_does()
    {
        Assert.Equal("1630b", Start().ToTaskParameters(1630).CacheSize);
        Assert.Equal("0", Start(query: Query(("cache_size", "0b"))).ToTaskParameters(1630).CacheSize);
        var parameters = Start(query: Query(("cache_size", "10kb"), ("number_of_allocations", "2"))).ToTaskParameters(1630);
        Assert.Equal(("10kb", 2, 1024), (parameters.CacheSize, parameters.NumberOfAllocations, parameters.QueueCapacity));
    }

    [Theory]
    [InlineData("_all")]
    [InlineData("*")]
    [InlineData("../x")]
    [InlineData("ABC")]
    [InlineData("/")]
    [InlineData("a\0b")]
    [InlineData("-leading-dash")]
    public void A_deployment_id_must_follow_the_model_id_rules(string deploymentId)
    {
        var e = Expect.Error(() => Start(query: Query(("deployment_id", deploymentId))), 400, "action_request_validation_exception",
            // The id is quoted escaped (a NUL reads \u0000), as every echo of a client's text is.
            $"Invalid deployment_id; '{Grains.Errors.LoggedText.Of(deploymentId)}' can contain lowercase alphanumeric (a-z and 0-9), hyphens or underscores; must start and end with alphanumeric");
        Assert.DoesNotContain("cannot contain more than", e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_deployment_id_has_at_most_64_characters()
    {
        Assert.Equal(new string('d', 64), Start(query: Query(("deployment_id", new string('d', 64)))).DeploymentId);
        var tooLong = new string('d', 65);
        Expect.Error(() => Start(query: Query(("deployment_id", tooLong))), 400, "action_request_validation_exception",
            $"Invalid deployment_id; '{tooLong}' cannot contain more than 64 characters.");
        var huge = new string('x', 5000) + "/";
        var e = Expect.Error(() => Start(query: Query(("deployment_id", huge))), 400, "action_request_validation_exception", "Invalid deployment_id");
        Assert.Contains("cannot contain more than 64 characters", e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_typed_request_reads_back_to_the_same_settings_as_the_rest_form()
    {
        var parsed = Start("""{"number_of_allocations":3,"threads_per_allocation":2,"queue_capacity":10,"cache_size":"10kb","timeout":"1m"}""",
            Query(("deployment_id", "my-deployment"), ("wait_for", "fully_allocated"), ("priority", "normal")));
        var typed = parsed.ToRequest();
        Assert.Equal(("my-model", "my-deployment", 3, 2, 10, "10kb", "1m"),
            (typed.ModelId, typed.DeploymentId, typed.NumberOfAllocations, typed.ThreadsPerAllocation, typed.QueueCapacity, typed.CacheSize, typed.Timeout));
        var back = StartDeploymentSettings.From(typed);
        Assert.Equal(parsed.ToTaskParameters(1000), back.ToTaskParameters(1000));
        Assert.Equal((parsed.WaitFor, parsed.Timeout.StringRep), (back.WaitFor, back.Timeout.StringRep));
    }

    [Fact]
    public void A_typed_request_from_an_sdk_caller_is_validated_with_the_same_rules_and_texts()
    {
        Expect.Error(() => StartDeploymentSettings.From(new StartDeploymentRequest { ModelId = "m", DeploymentId = "Not/Valid" }),
            400, "action_request_validation_exception", "Invalid deployment_id; 'Not/Valid' can contain lowercase alphanumeric");
        Expect.Error(() => StartDeploymentSettings.From(new StartDeploymentRequest { ModelId = "m", ThreadsPerAllocation = 3, QueueCapacity = 0 }),
            400, "action_request_validation_exception", "[threads_per_allocation] must be a power of 2 less than or equal to 32");
        Expect.Error(() => StartDeploymentSettings.From(new StartDeploymentRequest { ModelId = "m", CacheSize = "ten" }),
            400, "parse_exception", "cache_size");
        Expect.Error(() => StartDeploymentSettings.From(new StartDeploymentRequest { ModelId = "m", Timeout = "soon" }),
            400, "illegal_argument_exception", "soon");
        Assert.Equal("m", StartDeploymentSettings.From(new StartDeploymentRequest { ModelId = "m" }).DeploymentId);
    }
}
