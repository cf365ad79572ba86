using TrainedModelsOrleans.Grains.Models;
using Xunit;

namespace TrainedModelsOrleans.Grains.Tests.Models;

public class ModelIdPatternTests
{
    private static readonly string[] Existing = ["bert-base", "bert-large", "roberta", "tree-1"];

    private static IReadOnlyList<string> Expand(string expression, bool allowNoMatch = true, IReadOnlyDictionary<string, string>? aliases = null) =>
        ModelIdPattern.Parse(expression).Expand(Existing, allowNoMatch, aliases);

    [Theory]
    [InlineData("")]
    [InlineData("_all")]
    [InlineData("*")]
    public void All_expressions_return_every_model_sorted(string expression)
    {
        Assert.Equal(["bert-base", "bert-large", "roberta", "tree-1"], Expand(expression));
    }

    [Fact]
    public void Comma_list_with_wildcards_returns_the_union_sorted()
    {
        Assert.Equal(["bert-base", "bert-large", "tree-1"], Expand("tree-1, bert*"));
    }

    [Fact]
    public void Wildcard_in_the_middle_matches()
    {
        Assert.Equal(["bert-base"], Expand("b*-b*e"));
    }

    [Fact]
    public void Missing_exact_id_is_not_found()
    {
        Expect.Error(() => Expand("roberta,missing"), 404, "resource_not_found_exception", "No known trained model with model_id [missing]");
    }

    [Fact]
    public void Every_missing_exact_id_is_named()
    {
        Expect.Error(() => Expand("a,roberta,b"), 404, "resource_not_found_exception", "No known trained model with model_id [a,b]");
    }

    [Fact]
    public void Wildcard_matching_nothing_is_allowed_by_default()
    {
        Assert.Empty(Expand("gpt*"));
    }

    [Fact]
    public void Wildcard_matching_nothing_is_not_found_when_no_match_is_not_allowed()
    {
        Expect.Error(() => Expand("bert*,gpt*", allowNoMatch: false), 404, "resource_not_found_exception", "No known trained model with model_id [gpt*]");
    }

    [Fact]
    public void All_with_no_models_is_not_found_when_no_match_is_not_allowed()
    {
        Expect.Error(() => ModelIdPattern.Parse("_all").Expand([], allowNoMatch: false), 404, "resource_not_found_exception", "No known trained model with model_id [*]");
        Assert.Empty(ModelIdPattern.Parse("_all").Expand([], allowNoMatch: true));
    }

    [Fact]
    public void Alias_resolves_to_its_model()
    {
        Assert.Equal(["roberta"], Expand("prod", aliases: new Dictionary<string, string> { ["prod"] = "roberta" }));
    }

    [Fact]
    public void Wildcard_over_aliases_resolves_to_their_models()
    {
        Assert.Equal(["roberta", "tree-1"], Expand("prod-*", allowNoMatch: false,
            aliases: new Dictionary<string, string> { ["prod-a"] = "roberta", ["prod-b"] = "tree-1" }));
    }

    [Fact]
    public void Tokens_are_trimmed_and_empty_ones_dropped()
    {
        Assert.Equal(["roberta"], ModelIdPattern.Parse(" roberta , ,").Tokens);
    }
}

public class GetTrainedModelsSettingsTests
{
    private static readonly Dictionary<string, IReadOnlyList<string>> Models = new()
    {
        ["a"] = ["prod"],
        ["b"] = [],
        ["c"] = ["prod", "nlp"],
        ["d"] = [],
    };

    private static GetTrainedModelsSettings Parse(string? id, params (string Key, string? Value)[] query) =>
        GetTrainedModelsSettings.Parse(id, query.ToDictionary(q => q.Key, q => q.Value));

    [Fact]
    public void Defaults_are_elasticsearchs()
    {
        var request = Parse(null);
        Assert.True(request.Ids.IsAll);
        Assert.Equal((0, 100, true, true, false), (request.From, request.Size, request.AllowNoMatch, request.DecompressDefinition, request.ExcludeGenerated));
        Assert.Empty(request.Includes);
    }

    [Fact]
    public void Page_is_cut_after_sorting_and_count_is_every_match()
    {
        var page = Parse("_all", ("from", "1"), ("size", "2")).Select(Models);
        Assert.Equal(["b", "c"], page.ModelIds);
        Assert.Equal(4, page.Count);
    }

    [Fact]
    public void Tags_keep_only_models_with_every_tag()
    {
        Assert.Equal(["a", "c"], Parse("*", ("tags", "prod")).Select(Models).ModelIds);
        Assert.Equal(["c"], Parse("*", ("tags", "prod,nlp")).Select(Models).ModelIds);
    }

    [Fact]
    public void Exact_id_without_the_asked_tag_is_not_found()
    {
        Expect.Error(() => Parse("b", ("tags", "prod")).Select(Models), 404, "resource_not_found_exception", "No known trained model with model_id [b]");
    }

    [Fact]
    public void Negative_from_is_refused()
    {
        Expect.Error(() => Parse(null, ("from", "-1")), 400, "illegal_argument_exception", "Parameter [from] cannot be < 0");
    }

    [Fact]
    public void Negative_size_is_refused()
    {
        Expect.Error(() => Parse(null, ("size", "-1")), 400, "illegal_argument_exception", "Parameter [size] cannot be < 0");
    }

    [Fact]
    public void Size_that_is_not_a_number_is_refused()
    {
        Expect.Error(() => Parse(null, ("size", "ten")), 400, "illegal_argument_exception", "Failed to parse int parameter [size] with value [ten]");
    }

    [Fact]
    public void Allow_no_match_that_is_not_a_boolean_is_refused()
    {
        Expect.Error(() => Parse(null, ("allow_no_match", "maybe")), 400, "illegal_argument_exception",
            "Failed to parse value [maybe] as only [true] or [false] are allowed.");
    }

    [Fact]
    public void Allow_no_match_false_makes_an_empty_wildcard_not_found()
    {
        Expect.Error(() => Parse("x*", ("allow_no_match", "false")).Select(Models), 404, "resource_not_found_exception",
            "No known trained model with model_id [x*]");
    }

    [Fact]
    public void Known_includes_are_accepted()
    {
        var request = Parse("a", ("include", "definition,definition_status,feature_importance_baseline,hyperparameters,total_feature_importance"));
        Assert.Equal(5, request.Includes.Count);
    }

    [Fact]
    public void Unknown_include_is_refused_listing_the_valid_options()
    {
        Expect.Error(() => Parse("a", ("include", "definition,everything")), 400, "status_exception",
            "unknown [include] parameters [everything]. Valid options are [definition, definition_status, feature_importance_baseline, hyperparameters, total_feature_importance]");
    }

    [Fact]
    public void Definition_of_more_than_one_model_is_refused()
    {
        Expect.Error(() => Parse("a,b", ("include", "definition")).Select(Models), 400, "status_exception",
            "Getting model definition is not supported when getting more than one model");
        Assert.Equal(["a"], Parse("a", ("include", "definition")).Select(Models).ModelIds);
    }

    [Fact]
    public void A_typed_listing_request_is_checked_with_the_rules_of_the_query_form()
    {
        var parsed = Parse("m*", ("from", "2"), ("size", "5"), ("include", "definition_status"), ("tags", "a,b"), ("allow_no_match", "false"));
        var back = GetTrainedModelsSettings.Of(parsed.ToRequest("m*"));
        Assert.Equal((2, 5, false), (back.From, back.Size, back.AllowNoMatch));
        Assert.Equal(["a", "b"], back.Tags);
        Assert.Contains("definition_status", back.Includes);

        var unknown = Assert.Throws<Errors.ElasticsearchException>(() =>
            GetTrainedModelsSettings.Of(new ModelStore.GetTrainedModelsRequest { Include = ["everything"] }));
        Assert.Equal(400, unknown.Status);
        Assert.Contains("unknown [include] parameters [everything]", unknown.Reason, StringComparison.Ordinal);
        var negative = Assert.Throws<Errors.ElasticsearchException>(() => GetTrainedModelsSettings.Of(new ModelStore.GetTrainedModelsRequest { From = -1 }));
        Assert.Equal(("illegal_argument_exception", "Parameter [from] cannot be < 0"), (negative.Type, negative.Reason));
    }
}
