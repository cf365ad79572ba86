using System.Text;
using TrainedModelsOrleans.Grains.Models;
using Xunit;

namespace TrainedModelsOrleans.Grains.Tests.Models;

public class DefinitionPartsTests
{
    private static string Body(string base64, long total, int parts) =>
        $$$"""{"definition":"{{{base64}}}","total_definition_length":{{{total}}},"total_parts":{{{parts}}} }""";

    private static string B64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    private static DefinitionPart Part(int part, string bytes, long total, int parts) =>
        DefinitionPartRequest.Parse("m", part.ToString(), Body(B64(bytes), total, parts));

    [Fact]
    public void Valid_part_is_decoded()
    {
        var part = DefinitionPartRequest.Parse("m", "1", Body(B64("abc"), 6, 2));
        Assert.Equal(("m", 1, 6L, 2), (part.ModelId, part.Part, part.TotalDefinitionLength, part.TotalParts));
        Assert.Equal("abc", Encoding.UTF8.GetString(part.Definition));
        Assert.True(part.IsLast);
    }

    [Fact]
    public void Part_that_is_not_an_integer_is_refused()
    {
        Expect.Error(() => DefinitionPartRequest.Parse("m", "one", Body(B64("a"), 1, 1)), 400, "number_format_exception", "For input string: \"one\"");
    }

    [Fact]
    public void Negative_part_is_refused()
    {
        Expect.Error(() => DefinitionPartRequest.Parse("m", "-1", Body(B64("a"), 1, 1)), 400, "action_request_validation_exception",
            "1: [part] must be greater or equal to 0;");
    }

    [Fact]
    public void Part_at_or_beyond_total_parts_is_refused()
    {
        Expect.Error(() => DefinitionPartRequest.Parse("m", "2", Body(B64("a"), 1, 2)), 400, "action_request_validation_exception",
            "[part] must be less than total_parts");
    }

    [Fact]
    public void Zero_total_parts_is_refused()
    {
        var e = Expect.Error(() => DefinitionPartRequest.Parse("m", "0", Body(B64("a"), 1, 0)), 400, "action_request_validation_exception",
            "1: [total_parts] must be greater than 0;");
        Assert.Contains("2: [part] must be less than total_parts;", e.Reason);
    }

    [Fact]
    public void More_than_ten_thousand_parts_are_refused()
    {
        Expect.Error(() => DefinitionPartRequest.Parse("m", "0", Body(B64("a"), 1, 10_001)), 400, "action_request_validation_exception",
            "[total_parts] must be less than or equal to 10000");
    }

    [Fact]
    public void Non_positive_total_length_is_refused()
    {
        Expect.Error(() => DefinitionPartRequest.Parse("m", "0", Body(B64("a"), 0, 1)), 400, "action_request_validation_exception",
            "[total_definition_length] must be greater than 0");
    }

    [Fact]
    public void Missing_totals_are_refused_as_zero()
    {
        var e = Expect.Error(() => DefinitionPartRequest.Parse("m", "0", $$$"""{"definition":"{{{B64("a")}}}"}"""), 400, "action_request_validation_exception",
            "[total_parts] must be greater than 0");
        Assert.Contains("[total_definition_length] must be greater than 0", e.Reason);
    }

    [Fact]
    public void Missing_definition_is_refused()
    {
        Expect.Error(() => DefinitionPartRequest.Parse("m", "0", """{"total_definition_length":1,"total_parts":1}"""), 400, "illegal_argument_exception",
            "[definition] must not be null.");
    }

    [Fact]
    public void Invalid_base64_is_refused_naming_the_field()
    {
        Expect.Error(() => DefinitionPartRequest.Parse("m", "0", Body("@@@", 1, 1)), 400, "x_content_parse_exception",
            "[put_trained_model_part_action] failed to parse field [definition]").RootIs("illegal_argument_exception", "Illegal base64 character 40");
    }

    [Fact]
    public void Unknown_field_in_a_part_is_refused()
    {
        Expect.Error(() => DefinitionPartRequest.Parse("m", "0", """{"definition":"YQ==","total_definition_length":1,"total_parts":1,"eos":true}"""),
            400, "x_content_parse_exception", "[put_trained_model_part_action] unknown field [eos]");
    }

    [Fact]
    public void Parts_in_any_order_complete_the_definition()
    {
        var assembly = DefinitionAssembly.Start("m")
            .Add(Part(2, "ef", 6, 3))
            .Add(Part(0, "ab", 6, 3));
        Assert.False(assembly.IsComplete);
        Assert.Equal([1], assembly.MissingParts);
        assembly = assembly.Add(Part(1, "cd", 6, 3));
        Assert.True(assembly.IsComplete);
        Assert.Empty(assembly.MissingParts);
        assembly.EnsureComplete();
    }

    [Fact]
    public void Assembly_state_round_trips_through_progress()
    {
        var assembly = DefinitionAssembly.Start("m").Add(Part(0, "ab", 4, 2));
        var json = System.Text.Json.JsonSerializer.Serialize(assembly.Progress);
        var restored = DefinitionAssembly.From("m", System.Text.Json.JsonSerializer.Deserialize<DefinitionProgress>(json));
        Assert.True(restored.Add(Part(1, "cd", 4, 2)).IsComplete);
    }

    [Fact]
    public void Part_uploaded_twice_is_refused_as_elasticsearch_does()
    {
        var assembly = DefinitionAssembly.Start("m").Add(Part(0, "ab", 4, 2));
        Expect.Error(() => assembly.Add(Part(0, "ab", 4, 2)), 400, "resource_already_exists_exception",
            "Trained machine learning model chunked doc [m][0] already exists");
    }

    [Fact]
    public void Part_numbers_in_messages_are_grouped_like_java_message_format()
    {
        var assembly = DefinitionAssembly.Start("m").Add(Part(1234, "a", 5000, 2000));
        Expect.Error(() => assembly.Add(Part(1234, "a", 5000, 2000)), 400, "resource_already_exists_exception", "chunked doc [m][1,234] already exists");
    }

    [Fact]
    public void Part_with_a_different_total_length_is_refused()
    {
        var assembly = DefinitionAssembly.Start("m").Add(Part(1, "ab", 4, 2));
        Expect.Error(() => assembly.Add(Part(0, "cd", 5, 2)), 400, "status_exception",
            "[m] [total_definition_length] must be the same in all model definition parts. The value [5] in model definition part [0] does not match the value [4] in part [1].");
    }

    [Fact]
    public void Part_with_a_different_total_parts_is_refused()
    {
        var assembly = DefinitionAssembly.Start("m").Add(Part(0, "ab", 4, 2));
        Expect.Error(() => assembly.Add(Part(1, "cd", 4, 3)), 400, "status_exception",
            "[m] [total_parts] must be the same in all model definition parts. The value [3] in model definition part [1] does not match the value [2] in part [0].");
    }

    [Fact]
    public void Parts_longer_than_the_total_length_are_refused()
    {
        var assembly = DefinitionAssembly.Start("m").Add(Part(0, "abc", 4, 2));
        Expect.Error(() => assembly.Add(Part(1, "de", 4, 2)), 400, "status_exception",
            "[m] model definition parts add up to [5] bytes, more than [total_definition_length] [4]");
    }

    [Fact]
    public void Last_part_that_leaves_the_definition_short_is_refused()
    {
        var assembly = DefinitionAssembly.Start("m").Add(Part(0, "ab", 6, 2));
        Expect.Error(() => assembly.Add(Part(1, "cd", 6, 2)), 400, "status_exception",
            "Model definition truncated. Unable to deserialize trained model definition [m]");
        Assert.Equal(1, assembly.ReceivedParts);
    }

    [Fact]
    public void Incomplete_definition_is_refused_at_start()
    {
        var assembly = DefinitionAssembly.Start("m").Add(Part(0, "ab", 6, 3));
        Expect.Error(assembly.EnsureComplete, 400, "status_exception", "Model definition truncated. Unable to deserialize trained model definition [m]");
    }

    [Fact]
    public void Missing_definition_is_not_found_at_start()
    {
        Expect.Error(DefinitionAssembly.Start("m").EnsureComplete, 404, "resource_not_found_exception", "Could not find trained model definition [m]");
    }

    [Fact]
    public void Model_whose_definition_was_given_inline_refuses_parts()
    {
        var created = TrainedModelCreation.Create(PutTrainedModelSettings.Parse("m", PutTrainedModelRequestTests.TreeBody), DateTimeOffset.UnixEpoch);
        Expect.Error(() => DefinitionAssembly.CheckModelAcceptsParts(created.Config), 400, "status_exception",
            "cannot put definition for model [m] as location is null");
    }

    [Fact]
    public void Onnx_model_accepts_parts()
    {
        var created = TrainedModelCreation.Create(PutTrainedModelSettings.Parse("m", PutTrainedModelRequestTests.OnnxBody), DateTimeOffset.UnixEpoch);
        DefinitionAssembly.CheckModelAcceptsParts(created.Config);
    }
}
