using System.Text;
using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Models;
using Xunit;

namespace TrainedModelsOrleans.Grains.Tests.Limits;

/// <summary>The decode-once reader answers exactly what ES's parser answers: the same part, or the same error.</summary>
public class DefinitionPartBodyTests
{
    private static byte[] Body(string definitionJson, string rest = ""","total_definition_length":100,"total_parts":1""") =>
        Encoding.UTF8.GetBytes($$"""{"definition":{{definitionJson}}{{rest}}}""");

    private static void SameAsParser(byte[] body, string part = "0")
    {
        DefinitionPart? expected = null, actual = null;
        ElasticsearchException? expectedError = null, actualError = null;
        try { expected = DefinitionPartRequest.Parse("m", part, body); } catch (ElasticsearchException e) { expectedError = e; }
        try { actual = DefinitionPartBody.Parse("m", part, body); } catch (ElasticsearchException e) { actualError = e; }
        if (expectedError is not null)
        {
            Assert.NotNull(actualError);
            Assert.Equal((expectedError.Status, expectedError.Type, expectedError.Reason), (actualError!.Status, actualError.Type, actualError.Reason));
            return;
        }
        Assert.Null(actualError);
        Assert.Equal(expected!.Definition, actual!.Definition);
        Assert.Equal((expected.Part, expected.TotalParts, expected.TotalDefinitionLength), (actual.Part, actual.TotalParts, actual.TotalDefinitionLength));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(100)]
    [InlineData(1001)]
    public void Valid_definitions_decode_to_the_same_bytes_padded_or_not(int length)
    {
        var bytes = new byte[length];
        new Random(length).NextBytes(bytes);
        var base64 = Convert.ToBase64String(bytes);
        SameAsParser(Body($"\"{base64}\""));
        SameAsParser(Body($"\"{base64.TrimEnd('=')}\""));
        SameAsParser(Body($"\"{base64}\"", ""","total_parts":1,"total_definition_length":100"""));
        SameAsParser(Encoding.UTF8.GetBytes($$"""{"total_parts":1, "total_definition_length":100 , "definition" : "{{base64}}" }"""));
    }

    [Theory]
    [InlineData("\"QUJD RA==\"")]      // whitespace, which .NET's Base64 skips and ES refuses
    [InlineData("\"QUJDR\"")]          // a last unit of one character
    [InlineData("\"QU*D\"")]           // outside the alphabet
    [InlineData("\"QUJ\\/\"")]         // an escaped slash: parsed by ES's parser
    [InlineData("\"QUJDRA===\"")]
    [InlineData("null")]
    [InlineData("12")]
    [InlineData("[\"QUJD\"]")]
    [InlineData("\"QUJD\",\"definition\":\"QUJD\"")] // a duplicate key
    public void Anything_else_gets_the_parsers_answer(string definitionJson) => SameAsParser(Body(definitionJson));

    [Fact]
    public void Broken_json_bad_part_and_missing_fields_get_the_parsers_answer()
    {
        SameAsParser(Body("\"QUJD\"", ",\"total_parts\":"));
        SameAsParser(Body("\"QUJD\""), part: "x");
        SameAsParser(Body("\"QUJD\"", ""));
        SameAsParser(Body("\"QUJD\"", ",\"unknown\":1"));
        SameAsParser(Encoding.UTF8.GetBytes("""{"nested":{"definition":"QUJD"},"total_parts":1,"total_definition_length":3}"""));
        SameAsParser(Encoding.UTF8.GetBytes("[]"));
        SameAsParser([]);
    }
}
