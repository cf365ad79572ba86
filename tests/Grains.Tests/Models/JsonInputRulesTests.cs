using System.Text;
using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Models.Parsing;
using Xunit;

namespace TrainedModelsOrleans.Grains.Tests.Models;

public class JsonInputRulesTests
{
    private static readonly JsonInputLimits Small = new() { MaxNestingDepth = 3, MaxStringLength = 5 };

    private static ElasticsearchException Refused(byte[] body, JsonInputLimits? limits = null) =>
        Assert.Throws<ElasticsearchException>(() => JsonInputRules.Check(body, limits ?? JsonInputLimits.Default));

    private static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    [Theory]
    [InlineData("{\"a\":[1,{\"b\":\"caf\u00e9 \ud83d\ude00\"}]}")]
    [InlineData("{\"a\":\"\\ud83d\\ude00 and \\\\ud800 is text\"}")]
    [InlineData("{\"a\":\"quote \\\" and [[[[ in a string\"} // a comment with \"[[[[\" \n")]
    [InlineData("/* {{{{ */ {\"a\":1}")]
    [InlineData("")]
    public void Valid_json_within_the_limits_passes(string json) => JsonInputRules.Check(Utf8(json), Small with { MaxStringLength = 100 });

    [Fact]
    public void An_invalid_start_byte_is_refused_at_its_line_and_column()
    {
        var error = Refused([.. Utf8("{\n \"a\":\"x"), 0xff, .. Utf8("\"}")]);
        Assert.Equal(400, error.Status);
        Assert.Equal("x_content_parse_exception", error.Type);
        Assert.Equal("[2:8] Invalid UTF-8 start byte 0xff", error.Reason);
    }

    [Fact]
    public void A_truncated_sequence_is_refused_naming_the_middle_byte() =>
        Assert.Equal("[1:7] Invalid UTF-8 middle byte 0x22", Refused([.. Utf8("{\"a\":\""), 0xc3, .. Utf8("\"}")]).Reason);

    [Theory]
    [InlineData("{\"a\":\"\\ud800\"}")]
    [InlineData("{\"a\":\"\\udc00x\"}")]
    [InlineData("{\"a\":\"\\ud800\\u0041\"}")]
    [InlineData("{\"\\ud800\":1}")]
    public void An_unpaired_surrogate_escape_is_refused(string json) =>
        Assert.Contains("Invalid UTF-16 surrogate pair", Refused(Utf8(json)).Reason);

    [Fact]
    public void Nesting_past_the_limit_is_refused_naming_the_setting()
    {
        JsonInputRules.Check(Utf8("[[[1]]]"), Small);
        var error = Refused(Utf8("[[[[1]]]]"), Small);
        Assert.Equal("[1:4] Document nesting depth (4) exceeds the maximum allowed (3, from [Input:MaxNestingDepth])", error.Reason);
    }

    [Fact]
    public void A_string_past_the_limit_is_refused_naming_the_setting()
    {
        JsonInputRules.Check(Utf8("{\"a\":\"12345\"}"), Small);
        Assert.Equal("[1:6] String value length (6) exceeds the maximum allowed (5, from [Input:MaxStringLength])",
            Refused(Utf8("{\"a\":\"123456\"}"), Small).Reason);
        Assert.Contains("String value length", Refused(Utf8("{\"abcdef\":1}"), Small).Reason);
    }

    [Fact]
    public void Escapes_and_multi_byte_characters_count_as_the_characters_they_make()
    {
        JsonInputRules.Check(Utf8("[\"\\n\\t\\u0041\u00e9\u00e9\"]"), Small);
        Refused(Utf8("[\"\\n\\t\\u0041\u00e9\u00e9\u00e9\"]"), Small);
    }

    [Fact]
    public void A_million_levels_deep_is_refused_without_recursion()
    {
        var deep = Utf8(new string('[', 1_000_000));
        Assert.Contains("nesting depth (1001)", Refused(deep).Reason);
    }
}
