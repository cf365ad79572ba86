using TrainedModelsOrleans.Api.Http;
using TrainedModelsOrleans.Grains.Errors;
using Xunit;

namespace TrainedModelsOrleans.Api.Tests;

/// <summary>The plain rules behind the hostile-input checks: logged text, path values, line and header limits.</summary>
public class InputRulesTests
{
    private static readonly InputOptions Options = new();

    [Theory]
    [InlineData("plain-id", "plain-id")]
    [InlineData("a\nb\r\tc", "a\\nb\\r\\tc")]
    [InlineData("nul\0esc\u001b", "nul\\u0000esc\\u001b")]
    [InlineData("line\u2028sep", "line\\u2028sep")]
    public void Logged_text_escapes_control_characters(string text, string logged) => Assert.Equal(logged, LoggedText.Of(text));

    // Not as InlineData: xunit's theory data would replace the lone surrogate.
    [Fact]
    public void Logged_text_keeps_surrogate_pairs_and_escapes_lone_ones() =>
        Assert.Equal("pair \ud83d\ude00 lone \\ud800", LoggedText.Of("pair \ud83d\ude00 lone \ud800"));

    [Fact]
    public void Logged_text_is_cut_with_an_ellipsis_that_counts_what_was_left_out()
    {
        var logged = LoggedText.Of(new string('x', 20_000) + "\n");
        Assert.Equal(new string('x', 256) + "…(19745 more chars)", logged);
        Assert.Equal("null", LoggedText.Of(null));
    }

    [Fact]
    public void Logged_text_never_splits_a_surrogate_pair()
    {
        var logged = LoggedText.Of(new string('x', 255) + "\ud83d\ude00tail");
        Assert.StartsWith(new string('x', 255) + "…", logged);
    }

    [Theory]
    [InlineData("my-model")]
    [InlineData("a*,b*,c")]
    [InlineData("caf\u00e9-\ud83d\ude00")]
    public void Ordinary_path_values_pass(string value) => Assert.Null(RequestHeadRules.CheckPathValue("model_id", value, Options));

    [Fact]
    public void A_path_value_over_the_id_limit_is_refused_with_a_bounded_prefix()
    {
        var error = RequestHeadRules.CheckPathValue("model_id", new string('a', 3000), Options)!;
        Assert.Equal(400, error.Status);
        Assert.Equal("illegal_argument_exception", error.Type);
        Assert.StartsWith("[model_id] must not be longer than 512 characters (limit from [Input:MaxIdLength]); got 3000 characters: [aaaa", error.Reason);
        Assert.True(error.Reason.Length < 300, error.Reason);
    }

    [Theory]
    [InlineData("a\0b")]
    [InlineData("a\nb")]
    [InlineData("a\u007fb")]
    public void A_path_value_with_a_control_character_is_refused(string value) =>
        Assert.Contains("must not contain control characters", RequestHeadRules.CheckPathValue("id", value, Options)!.Reason);

    [Fact]
    public void A_path_value_with_a_lone_surrogate_is_refused() =>
        Assert.Contains("unpaired surrogate", RequestHeadRules.CheckPathValue("id", "a\udc00", Options)!.Reason);

    [Fact]
    public void Request_lines_and_headers_over_elasticsearchs_limits_are_414_and_431()
    {
        Assert.Null(RequestHeadRules.CheckInitialLine(4096, Options));
        var line = RequestHeadRules.CheckInitialLine(4097, Options)!;
        Assert.Equal((414, "too_long_http_line_exception"), (line.Status, line.Type));
        Assert.Null(RequestHeadRules.CheckHeaders(16 * 1024, Options));
        var headers = RequestHeadRules.CheckHeaders(16 * 1024 + 1, Options)!;
        Assert.Equal((431, "too_long_http_header_exception"), (headers.Status, headers.Type));
        Assert.True(Options.KestrelRequestLineCeiling > Options.MaxInitialLineLength && Options.KestrelHeadersCeiling > Options.MaxHeaderSize);
    }

    [Fact]
    public void Settings_that_would_break_the_api_are_named()
    {
        Assert.Empty(Options.Problems());
        var problems = new InputOptions { MaxNestingDepth = 2, MaxIdLength = 10 }.Problems();
        Assert.Contains(problems, p => p.Contains("Input:MaxNestingDepth"));
        Assert.Contains(problems, p => p.Contains("Input:MaxIdLength"));
    }
}
