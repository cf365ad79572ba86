using TrainedModelsOrleans.Grains.Models;
using Xunit;

namespace TrainedModelsOrleans.Grains.Tests.Models;

public class TreeEnsembleDefinitionTests
{
    private const string Stump = """{"trained_model":{"tree":{"feature_names":["a"],"tree_structure":[{"node_index":0,"leaf_value":[1.5]}]}}}""";

    private static string Tree(string nodes, string extra = "", string features = "[\"a\",\"b\"]") =>
        "{\"trained_model\":{\"tree\":{\"feature_names\":" + features + ",\"tree_structure\":[" + nodes + "]" + extra + "}}}";

    private const string ThreeNodes = """
        {"node_index":0,"split_feature":1,"threshold":0.5,"decision_type":"lt","default_left":true,"left_child":1,"right_child":2,"number_samples":10},
        {"node_index":1,"leaf_value":[1.0]},
        {"node_index":2,"leaf_value":[2.0]}
        """;

    private static TreeEnsembleDefinition Parse(string json) => TreeEnsembleDefinition.Parse(json);

    private static void Invalid(string json, string reason) =>
        Expect.Error(() => Parse(json).Validate(), 400, "status_exception", reason);

    [Fact]
    public void Tree_is_parsed_with_every_node_field()
    {
        var definition = Parse(Tree(ThreeNodes));
        definition.Validate();
        var tree = Assert.IsType<DecisionTree>(definition.TrainedModel);
        Assert.Equal("regression", definition.TargetType);
        var root = tree.Nodes[0];
        Assert.Equal(("lt", 0.5, 1, true, 1, 2, 10L, false), (root.DecisionType, root.Threshold, root.SplitFeature, root.DefaultLeft, root.LeftChild, root.RightChild, root.NumberSamples, root.IsLeaf));
        Assert.True(tree.Nodes[1].IsLeaf);
        Assert.Equal([2.0], tree.Nodes[2].LeafValue);
        Assert.Equal("lte", tree.Nodes[1].DecisionType);
        Assert.True(double.IsNaN(tree.Nodes[1].Threshold));
    }

    [Fact]
    public void Tree_without_structure_is_a_single_zero_leaf()
    {
        var tree = Assert.IsType<DecisionTree>(Parse("""{"trained_model":{"tree":{"feature_names":[]}}}""").TrainedModel);
        Assert.Equal([0.0], Assert.Single(tree.Nodes).LeafValue);
    }

    [Fact]
    public void Empty_tree_structure_is_refused()
    {
        Expect.Error(() => Parse(Tree("")), 400, "x_content_parse_exception", "[trained_model_definition] failed to parse field [trained_model]")
            .ChainHas("[trained_model] failed to parse field [tree]")
            .RootIs("illegal_argument_exception", "[tree_structure] must not be empty");
    }

    [Fact]
    public void Missing_feature_names_are_refused()
    {
        Expect.Error(() => Parse("""{"trained_model":{"tree":{"tree_structure":[{"leaf_value":[1]}]}}}"""), 400, "x_content_parse_exception", "[trained_model_definition] failed to parse field [trained_model]")
            .ChainHas("[trained_model] failed to parse field [tree]")
            .RootIs("illegal_argument_exception", "[feature_names] must not be null.");
    }

    [Fact]
    public void Missing_trained_model_is_refused()
    {
        Expect.Error(() => Parse("""{"preprocessors":[]}"""), 400, "illegal_argument_exception", "[trained_model] must not be null.");
    }

    [Fact]
    public void Unknown_model_kind_is_refused()
    {
        Expect.Error(() => Parse("""{"trained_model":{"lang_ident":{}}}"""), 400, "x_content_parse_exception", "[trained_model_definition] failed to parse field [trained_model]")
            .ChainHas("[1:19] [trained_model] failed to parse field [lang_ident]")
            .RootIs("named_object_not_found_exception", "unknown field [lang_ident]");
    }

    [Fact]
    public void Unknown_node_field_is_refused()
    {
        Expect.Error(() => Parse(Tree("""{"node_index":0,"leaf_value":[1],"color":"red"}""")), 400, "x_content_parse_exception", "[trained_model_definition] failed to parse field [trained_model]")
            .ChainHas("[tree] failed to parse field [tree_structure]")
            .RootIs("x_content_parse_exception", "[tree_node] unknown field [color]");
    }

    [Fact]
    public void Leaf_without_value_is_refused()
    {
        Expect.Error(() => Parse(Tree("""{"node_index":0}""")), 400, "x_content_parse_exception", "failed to parse field")
            .RootIs("illegal_argument_exception", "[leaf_value] is required for a leaf node.");
    }

    [Fact]
    public void Split_without_threshold_is_refused()
    {
        Expect.Error(() => Parse(Tree("""{"node_index":0,"left_child":1,"right_child":2}""")), 400, "x_content_parse_exception", "failed to parse field")
            .RootIs("illegal_argument_exception", "[threshold] must exist for non-leaf node.");
    }

    [Fact]
    public void Negative_children_and_indexes_are_refused()
    {
        Expect.Error(() => Parse(Tree("""{"node_index":-1,"leaf_value":[1]}""")), 400, "x_content_parse_exception", "failed to parse field")
            .RootIs("illegal_argument_exception", "[node_index] must be a non-negative integer.");
        Expect.Error(() => Parse(Tree("""{"left_child":-1,"threshold":1}""")), 400, "x_content_parse_exception", "failed to parse field")
            .RootIs("illegal_argument_exception", "[left_child] must be a non-negative integer.");
        Expect.Error(() => Parse(Tree("""{"left_child":1,"right_child":-3,"threshold":1}""")), 400, "x_content_parse_exception", "failed to parse field")
            .RootIs("illegal_argument_exception", "[right_child] must be a non-negative integer.");
        Expect.Error(() => Parse(Tree("""{"leaf_value":[1],"number_samples":-1}""")), 400, "x_content_parse_exception", "failed to parse field")
            .RootIs("illegal_argument_exception", "[number_samples] must be greater than or equal to 0");
    }

    [Fact]
    public void Unknown_decision_type_is_refused()
    {
        Expect.Error(() => Parse(Tree("""{"decision_type":"eq","left_child":1,"right_child":2,"threshold":1}""")), 400, "x_content_parse_exception", "failed to parse field")
            .RootIs("illegal_argument_exception", "No enum constant org.elasticsearch.xpack.core.ml.job.config.Operator.EQ");
    }

    [Fact]
    public void Unknown_target_type_is_refused()
    {
        Expect.Error(() => Parse(Tree("""{"leaf_value":[1]}""", ",\"target_type\":\"ranking\"")), 400, "x_content_parse_exception", "[trained_model_definition] failed to parse field [trained_model]")
            .ChainHas("[tree] failed to parse field [target_type]")
            .RootIs("illegal_argument_exception", "TargetType.RANKING");
    }

    [Fact]
    public void Feature_index_beyond_feature_names_fails_validation()
    {
        Invalid(Tree(ThreeNodes.Replace("\"split_feature\":1", "\"split_feature\":2")), "feature index [2] is out of bounds for the [feature_names] array");
    }

    [Fact]
    public void Tree_with_splits_but_no_features_fails_validation()
    {
        Invalid(Tree(ThreeNodes.Replace("\"split_feature\":1,", ""), features: "[]"),
            "[feature_names] is empty and the tree has > 1 nodes; num nodes [3]. The model Must have features if tree is not a stump");
    }

    [Fact]
    public void Classification_labels_on_a_regression_tree_fail_validation()
    {
        Invalid(Tree(ThreeNodes, ",\"classification_labels\":[\"x\",\"y\"]"), "[target_type] should be [classification] if [classification_labels] are provided");
    }

    [Fact]
    public void Multi_valued_leaves_on_a_regression_tree_fail_validation()
    {
        Invalid(Tree("""{"leaf_value":[1,2]}"""), "[target_type] should be [classification] if leaf nodes have multiple values");
    }

    [Fact]
    public void Reference_to_a_missing_node_fails_validation()
    {
        Invalid(Tree("""{"split_feature":0,"threshold":1,"left_child":1,"right_child":5},{"leaf_value":[1]}"""), "[tree] contains missing nodes [5]");
    }

    [Fact]
    public void Cycle_fails_validation()
    {
        Invalid(Tree("""{"split_feature":0,"threshold":1,"left_child":1,"right_child":2},{"leaf_value":[1]},{"split_feature":0,"threshold":1,"left_child":0,"right_child":1}"""),
            "[tree] contains cycle at node");
    }

    [Fact]
    public void Leaves_of_different_widths_fail_validation()
    {
        Invalid(Tree("""{"split_feature":0,"threshold":1,"left_child":1,"right_child":2},{"leaf_value":[1,2]},{"leaf_value":[1]}""", ",\"target_type\":\"classification\""),
            "[tree.tree_structure] all leaf nodes must have the same number of values");
    }

    private static string Ensemble(string aggregate, string extra = "", int trees = 2) =>
        """{"trained_model":{"ensemble":{"feature_names":["a"],"trained_models":["""
        + string.Join(",", Enumerable.Repeat("""{"tree":{"feature_names":["a"],"tree_structure":[{"leaf_value":[1]}]}}""", trees))
        + "],\"aggregate_output\":" + aggregate + extra + "}}}";

    [Fact]
    public void Ensemble_is_parsed_with_its_aggregator()
    {
        var definition = Parse(Ensemble("""{"weighted_sum":{"weights":[0.5,0.5]}}"""));
        definition.Validate();
        var ensemble = Assert.IsType<EnsembleModel>(definition.TrainedModel);
        Assert.Equal(2, ensemble.Models.Count);
        Assert.Equal([0.5, 0.5], Assert.IsType<WeightedSum>(ensemble.AggregateOutput).Weights);
        // ceil(avg(ceil(ln 1) + 1)) + 2 × (2 − 1)
        Assert.Equal(3, definition.EstimatedOperations);
    }

    [Fact]
    public void Ensemble_defaults_to_weighted_sum()
    {
        var json = """{"trained_model":{"ensemble":{"feature_names":[],"trained_models":[{"tree":{"feature_names":[],"tree_structure":[{"leaf_value":[1]}]}}]}}}""";
        Assert.IsType<WeightedSum>(Assert.IsType<EnsembleModel>(Parse(json).TrainedModel).AggregateOutput);
    }

    [Fact]
    public void Aggregator_for_the_wrong_target_type_fails_validation_with_elasticsearchs_argument_order()
    {
        Invalid(Ensemble("""{"weighted_mode":{"num_classes":2}}"""), "aggregate_output [regression] is not compatible with target_type [weighted_mode]");
    }

    [Fact]
    public void Aggregator_weights_must_match_the_number_of_models()
    {
        Invalid(Ensemble("""{"weighted_sum":{"weights":[1,1,1]}}"""), "[aggregate_output] expects value array of size [3] but number of models is [2]");
    }

    [Fact]
    public void Weighted_mode_needs_more_than_one_class()
    {
        Expect.Error(() => Parse(Ensemble("""{"weighted_mode":{"num_classes":1}}""", ",\"target_type\":\"classification\"")), 400, "x_content_parse_exception", "failed to parse field")
            .RootIs("illegal_argument_exception", "[num_classes] must be greater than 1.");
        Expect.Error(() => Parse(Ensemble("""{"weighted_mode":{}}""", ",\"target_type\":\"classification\"")), 400, "x_content_parse_exception", "failed to parse field")
            .RootIs("illegal_argument_exception", "Required [num_classes]");
    }

    [Fact]
    public void Two_aggregators_are_refused()
    {
        Expect.Error(() => Parse(Ensemble("""{"weighted_sum":{},"exponent":{}}""")), 400, "x_content_parse_exception", "failed to parse field")
            .RootIs("status_exception", "[aggregate_output] must have exactly one aggregator defined.");
    }

    [Fact]
    public void Trained_models_as_an_object_with_several_models_are_refused()
    {
        var json = """
            {"trained_model":{"ensemble":{"feature_names":[],"trained_models":{
              "tree":{"feature_names":[],"tree_structure":[{"leaf_value":[1]}]},
              "ensemble":{"feature_names":[],"trained_models":[]}}}}}
            """;
        Expect.Error(() => Parse(json), 400, "x_content_parse_exception", "[trained_model_definition] failed to parse field [trained_model]")
            .ChainHas("[trained_model] failed to parse field [ensemble]")
            .RootIs("status_exception", "[trained_models] needs to be an array of objects");
    }

    [Fact]
    public void Empty_ensemble_fails_validation()
    {
        Invalid(Ensemble("""{"weighted_sum":{}}""", trees: 0), "[trained_models] must not be empty");
    }

    [Fact]
    public void Classification_weights_on_a_regression_ensemble_fail_validation()
    {
        Invalid(Ensemble("""{"weighted_sum":{}}""", ",\"classification_weights\":[1,2]"),
            "[target_type] should be [classification] if [classification_labels] or [classification_weights] are provided");
    }

    [Fact]
    public void Classification_weights_and_labels_of_different_lengths_fail_validation()
    {
        Invalid(Ensemble("""{"logistic_regression":{}}""", ",\"target_type\":\"classification\",\"classification_weights\":[1,2],\"classification_labels\":[\"x\"]"),
            "[classification_weights] and [classification_labels] should be the same length if both are provided");
    }

    [Fact]
    public void Invalid_member_tree_fails_the_ensemble_validation()
    {
        var json = """
            {"trained_model":{"ensemble":{"feature_names":["a"],"trained_models":[
              {"tree":{"feature_names":["a"],"tree_structure":[{"split_feature":0,"threshold":1,"left_child":1,"right_child":9},{"leaf_value":[1]}]}}]}}}
            """;
        Invalid(json, "[tree] contains missing nodes [9]");
    }

    [Fact]
    public void Preprocessors_are_parsed()
    {
        var json = """
            {"preprocessors":[
               {"one_hot_encoding":{"field":"color","hot_map":{"red":"color_red"}}},
               {"target_mean_encoding":{"field":"city","feature_name":"city_mean","target_map":{"x":1.5},"default_value":0.5}},
               {"frequency_encoding":{"field":"dept","feature_name":"dept_freq","frequency_map":{"a":0.1}}},
               {"n_gram_encoding":{"field":"text","feature_prefix":"f","n_grams":[1]}}],
             "trained_model":{"tree":{"feature_names":["a"],"tree_structure":[{"leaf_value":[1]}]}}}
            """;
        var definition = Parse(json);
        Assert.Equal("color_red", Assert.IsType<OneHotEncoding>(definition.Preprocessors[0]).HotMap["red"]);
        Assert.Equal(0.5, Assert.IsType<TargetMeanEncoding>(definition.Preprocessors[1]).DefaultValue);
        Assert.Equal(0.1, Assert.IsType<FrequencyEncoding>(definition.Preprocessors[2]).FrequencyMap["a"]);
        Assert.Equal("n_gram_encoding", Assert.IsType<RawPreProcessor>(definition.Preprocessors[3]).Name);
    }

    [Fact]
    public void Preprocessor_missing_required_fields_is_refused()
    {
        Expect.Error(() => Parse("""{"preprocessors":[{"target_mean_encoding":{"field":"city"}}],"trained_model":{"tree":{"feature_names":[]}}}"""),
            400, "x_content_parse_exception", "[trained_model_definition] failed to parse field [preprocessors]")
            .RootIs("illegal_argument_exception", "Required [feature_name, target_map, default_value]");
    }

    [Fact]
    public void Several_preprocessors_as_an_object_are_refused()
    {
        Expect.Error(() => Parse("""{"preprocessors":{"one_hot_encoding":{"field":"a","hot_map":{}},"frequency_encoding":{"field":"b","feature_name":"c","frequency_map":{}}},"trained_model":{"tree":{"feature_names":[]}}}"""),
            400, "illegal_argument_exception", "preprocessors must be an array of preprocessor objects");
    }

    [Fact]
    public void Unknown_preprocessor_is_refused()
    {
        Expect.Error(() => Parse("""{"preprocessors":[{"scaler":{}}],"trained_model":{"tree":{"feature_names":[]}}}"""),
            400, "x_content_parse_exception", "failed to parse field [preprocessors]")
            .RootIs("named_object_not_found_exception", "unknown field [scaler]");
    }

    [Fact]
    public void Stump_is_valid_and_estimates_its_cost()
    {
        var definition = Parse(Stump);
        definition.Validate();
        Assert.Equal(1, definition.EstimatedOperations);
        Assert.True(definition.EstimatedSizeBytes > 0);
    }
}
