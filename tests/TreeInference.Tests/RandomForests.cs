using System.Globalization;
using System.Text;

namespace TrainedModelsOrleans.TreeInference.Tests;

/// <summary>Random full trees as definition JSON, for the reference comparison and the timing.</summary>
internal static class RandomForests
{
    public static string[] FeatureNames(int count) => Enumerable.Range(0, count).Select(i => $"f{i}").ToArray();

    /// <summary>An ensemble of <paramref name="trees"/> full trees of <paramref name="depth"/> splits over <paramref name="features"/> features.</summary>
    public static string Ensemble(Random random, int trees, int depth, int features, string targetType, string aggregator, int leafSize = 1, int classes = 0)
    {
        var names = FeatureNames(features);
        var json = new StringBuilder();
        json.Append("""{"trained_model":{"ensemble":{"feature_names":[""").Append(string.Join(",", names.Select(n => $"\"{n}\""))).Append("],");
        json.Append($$"""
            "target_type":"{{targetType}}","aggregate_output":{{aggregator}},"trained_models":[
            """);
        for (var t = 0; t < trees; t++)
        {
            if (t > 0) json.Append(',');
            json.Append(Tree(random, depth, names, leafSize, classes));
        }
        json.Append("]}}}");
        return json.ToString();
    }

    private static string Tree(Random random, int depth, string[] names, int leafSize, int classes)
    {
        var nodes = new List<string>();
        var inner = (1 << depth) - 1;
        var total = (1 << (depth + 1)) - 1;
        string[] ops = ["lt", "lte", "gt", "gte"];
        for (var i = 0; i < total; i++)
        {
            if (i < inner)
            {
                nodes.Add(string.Create(CultureInfo.InvariantCulture,
                    $$"""{"node_index":{{i}},"split_feature":{{random.Next(names.Length)}},"threshold":{{Math.Round(random.NextDouble(), 3)}},"decision_type":"{{ops[random.Next(4)]}}","default_left":{{(random.Next(2) == 0 ? "true" : "false")}},"left_child":{{2 * i + 1}},"right_child":{{2 * i + 2}}}"""));
            }
            else
            {
                var values = Enumerable.Range(0, leafSize)
                    .Select(_ => classes > 0 ? random.Next(classes).ToString(CultureInfo.InvariantCulture) : Math.Round(random.NextDouble() * 2 - 1, 4).ToString("R", CultureInfo.InvariantCulture));
                nodes.Add($$"""{"node_index":{{i}},"leaf_value":[{{string.Join(",", values)}}]}""");
            }
        }
        var feature = string.Join(",", names.Select(n => $"\"{n}\""));
        var target = leafSize > 1 ? "\"target_type\":\"classification\"," : "";
        return $$"""{"tree":{{{target}}"feature_names":[{{feature}}],"tree_structure":[{{string.Join(",", nodes)}}]} }""";
    }

    /// <summary>A document with a value for each feature, some of them missing.</summary>
    public static string Document(Random random, int features, double missing = 0.1)
    {
        var fields = Enumerable.Range(0, features)
            .Where(_ => random.NextDouble() >= missing)
            .Select(i => string.Create(CultureInfo.InvariantCulture, $"\"f{i}\":{Math.Round(random.NextDouble(), 3)}"));
        return "{" + string.Join(",", fields) + "}";
    }
}
