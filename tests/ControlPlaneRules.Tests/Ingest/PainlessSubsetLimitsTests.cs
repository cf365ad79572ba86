using TrainedModelsOrleans.Grains.Ingest;
using Xunit;

namespace TrainedModelsOrleans.ControlPlaneRules.Tests.Ingest;

/// <summary>A crafted source is refused, never parsed or evaluated on a stack deep enough to end the process.</summary>
public class PainlessSubsetLimitsTests
{
    public static TheoryData<string> Crafted => new()
    {
        new string('(', 100_000) + "true" + new string(')', 100_000),
        new string('!', 100_000) + "true",
        string.Join(" && ", Enumerable.Repeat("ctx.a == 1", 20_000)),
        string.Join(" || ", Enumerable.Repeat("true", 65)),
        new string('(', 65) + "true" + new string(')', 65),
    };

    [Theory]
    [MemberData(nameof(Crafted))]
    public void Conditions_nested_or_chained_past_the_limits_are_refused(string source) =>
        Assert.Throws<PainlessSubset.UnsupportedScriptException>(() => PainlessSubset.ParseCondition(source));

    [Fact]
    public void Scripts_nested_past_the_limit_are_refused() =>
        Assert.Throws<PainlessSubset.UnsupportedScriptException>(() =>
            PainlessSubset.ParseScript(new string('{', 10_000) + "ctx.a = 1;" + new string('}', 10_000)));

    [Fact]
    public void Conditions_within_the_limits_still_run()
    {
        var nested = new string('(', PainlessSubset.MaxNesting - 2) + "ctx.a == 1" + new string(')', PainlessSubset.MaxNesting - 2);
        var chain = string.Join(" && ", Enumerable.Repeat("ctx.a == 1", PainlessSubset.MaxNesting));
        var ctx = new System.Text.Json.Nodes.JsonObject { ["a"] = 1 };
        Assert.True(PainlessSubset.ParseCondition(nested).EvaluateBoolean(ctx));
        Assert.True(PainlessSubset.ParseCondition(chain).EvaluateBoolean(ctx));
    }
}
