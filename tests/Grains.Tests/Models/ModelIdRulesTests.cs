using TrainedModelsOrleans.Grains.Models;
using Xunit;

namespace TrainedModelsOrleans.Grains.Tests.Models;

public class ModelIdRulesTests
{
    [Theory]
    [InlineData("a")]
    [InlineData("my-model")]
    [InlineData("my_model.v2")]
    [InlineData("0abc9")]
    public void Lowercase_alphanumerics_with_dashes_underscores_and_dots_are_valid(string id) =>
        Assert.True(ModelIdRules.IsValidId(id));

    [Fact]
    public void Model_id_with_uppercase_is_refused()
    {
        var e = Expect.Error(() => ModelIdRules.Validate("MyModel"), 400, "action_request_validation_exception",
            "Invalid model_id; 'MyModel' can contain lowercase alphanumeric (a-z and 0-9), hyphens or underscores; must start and end with alphanumeric");
        Assert.StartsWith("Validation Failed: 1: ", e.Reason);
    }

    [Theory]
    [InlineData("-model")]
    [InlineData("model-")]
    [InlineData("_model")]
    [InlineData(".model")]
    [InlineData("model.")]
    [InlineData("my model")]
    [InlineData("my/model")]
    [InlineData("")]
    [InlineData("_all")]
    public void Model_id_that_does_not_start_and_end_alphanumeric_or_has_other_characters_is_refused(string id)
    {
        Assert.False(ModelIdRules.IsValidId(id));
        Expect.Error(() => ModelIdRules.Validate(id), 400, "action_request_validation_exception", $"Invalid model_id; '{id}'");
    }

    [Fact]
    public void Model_id_of_64_characters_is_accepted()
    {
        ModelIdRules.Validate(new string('a', 64));
    }

    [Fact]
    public void Model_id_longer_than_64_characters_is_refused()
    {
        var id = new string('a', 65);
        Expect.Error(() => ModelIdRules.Validate(id), 400, "action_request_validation_exception",
            $"1: Invalid model_id; '{id}' cannot contain more than 64 characters.;");
    }

    [Fact]
    public void Model_id_both_invalid_and_too_long_reports_both_errors_in_order()
    {
        var id = "A" + new string('a', 64);
        var e = Expect.Error(() => ModelIdRules.Validate(id), 400, "action_request_validation_exception", "1: Invalid model_id;");
        Assert.Contains($"2: Invalid model_id; '{id}' cannot contain more than 64 characters.;", e.Reason);
    }
}
