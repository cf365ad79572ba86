using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Limits;
using Xunit;

namespace TrainedModelsOrleans.Grains.Tests.Limits;

public class ServiceLimitsTests
{
    [Fact]
    public void Defaults_are_valid_and_elasticsearchs_where_it_has_them()
    {
        var defaults = new ServiceLimitsOptions();
        Assert.True(new ServiceLimitsOptionsValidator().Validate(null, defaults).Succeeded);
        Assert.Equal(100L * 1024 * 1024, defaults.MaxContentLength);
        Assert.Contains("[http.max_content_length] [100mb]", new ServiceLimits(defaults).ContentTooLong(null).Reason);
    }

    [Fact]
    public void Settings_that_switch_a_limit_off_are_refused_at_start()
    {
        var result = new ServiceLimitsOptionsValidator().Validate(null, new ServiceLimitsOptions
        {
            MaxContentLength = 0, MaxInferDocs = -1, MaxTotalDefinitionLength = long.MaxValue, MaxConcurrentDefinitionUploads = 0,
            DefinitionUploadWait = TimeSpan.FromSeconds(-1),
        });
        Assert.True(result.Failed);
        foreach (var setting in new[] { "MaxContentLength", "MaxInferDocs", "MaxTotalDefinitionLength", "MaxConcurrentDefinitionUploads", "DefinitionUploadWait" })
            Assert.Contains($"Limits:{setting}", result.FailureMessage);
    }

    [Fact]
    public void Tensor_elements_are_counted_over_the_request_and_overflow_is_over_the_limit()
    {
        var limits = new ServiceLimits(new ServiceLimitsOptions { MaxTensorElements = 100 });
        var total = limits.CheckTensorElements("a", [2, 10], 0);
        Assert.Equal(20, total);
        Assert.Equal(100, limits.CheckTensorElements("b", [8, 10], total));
        var error = Assert.Throws<ElasticsearchException>(() => limits.CheckTensorElements("c", [1], 100));
        Assert.Equal((400, "illegal_argument_exception"), (error.Status, error.Type));
        Assert.Contains("input [c] of shape [1] brings the request to [101] tensor elements, more than the limit of [100] (setting Limits:MaxTensorElements)", error.Reason);
        Assert.Throws<ElasticsearchException>(() => limits.CheckTensorElements("d", [long.MaxValue / 2, 4, 4], 0));
        Assert.Equal(0, limits.CheckTensorElements("e", [0, long.MaxValue], 0));
    }

    [Fact]
    public void Body_refusal_is_413_in_elasticsearchs_units()
    {
        var error = new ServiceLimits(new ServiceLimitsOptions { MaxContentLength = 512 * 1024 }).ContentTooLong(600_000);
        Assert.Equal(413, error.Status);
        Assert.Equal("request body of [600000] bytes is larger than [http.max_content_length] [512kb] (setting Limits:MaxContentLength)", error.Reason);
    }
}
