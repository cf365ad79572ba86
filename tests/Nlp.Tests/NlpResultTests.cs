using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Inference.Nlp;
using static TrainedModelsOrleans.Nlp.Tests.NlpModels;

namespace TrainedModelsOrleans.Nlp.Tests;

/// <summary>Each task's result shape from hand-made model outputs.</summary>
public class NlpResultTests
{
    private static NlpTask Task(string config, string? update = null) =>
        NlpTask.For(Config(config), Vocabulary(), update is null ? null : Update(update));

    [Fact]
    public void Pass_through_returns_each_documents_row_of_a_pooled_output()
    {
        var batch = Task("""{"pass_through":{}}""").Prepare(["Elasticsearch fun", "my little red car"]);

        var results = batch.ToResults([Output([1f, 2f, 3f, 4f], 2, 2)]);

        Assert.Equal("""{"predicted_value":[[1,2]]}""", results[0].ToJsonString());
        Assert.Equal("""{"predicted_value":[[3,4]]}""", results[1].ToJsonString());
    }

    [Fact]
    public void Pass_through_of_a_sequence_output_keeps_only_the_documents_own_tokens()
    {
        // [CLS] Elastic ##search [SEP] (4 tokens) padded to the 6 of the second document.
        var batch = Task("""{"pass_through":{}}""").Prepare(["Elasticsearch", "my little red car"]);
        var data = Enumerable.Range(0, 2 * 6 * 1).Select(i => (float)i).ToArray();

        var results = batch.ToResults([Output(data, 2, 6, 1)]);

        Assert.Equal("""{"predicted_value":[[0],[1],[2],[3]]}""", results[0].ToJsonString());
        Assert.Equal(6, results[1]["predicted_value"]!.AsArray().Count);
    }

    [Fact]
    public void Results_field_of_the_update_renames_predicted_value()
    {
        var batch = Task("""{"pass_through":{}}""", """{"pass_through":{"results_field":"vector"}}""").Prepare(["fun"]);

        var result = Assert.Single(batch.ToResults([Output([0.5f], 1, 1)]));

        Assert.Equal("""{"vector":[[0.5]]}""", result.ToJsonString());
    }

    [Fact]
    public void Text_embedding_takes_the_pooled_vector_or_the_first_token()
    {
        var task = Task("""{"text_embedding":{}}""");

        var pooled = task.Prepare(["fun", "car"]).ToResults([Output([1f, 2f, 3f, 4f], 2, 2)]);
        Assert.Equal([3.0, 4.0], Doubles(pooled[1]["predicted_value"]));

        // [batch 1, 3 tokens, hidden 2]: the [CLS] vector.
        var sequence = task.Prepare(["fun"]).ToResults([Output([7f, 8f, 1f, 1f, 2f, 2f], 1, 3, 2)]);
        Assert.Equal([7.0, 8.0], Doubles(sequence[0]["predicted_value"]));
        Assert.Single(sequence[0]);
    }

    [Fact]
    public void Text_classification_gives_the_best_label_and_its_softmax_probability()
    {
        var task = Task("""{"text_classification":{"classification_labels":["negative","positive"]}}""");

        var result = Assert.Single(task.Prepare(["fun"]).ToResults([Output([0f, (float)Math.Log(3)], 1, 2)]));

        Assert.Equal("positive", result["predicted_value"]!.GetValue<string>());
        Assert.Equal(0.75, result["prediction_probability"]!.GetValue<double>(), 6);
        Assert.Null(result["top_classes"]); // num_top_classes defaults to 0
        Assert.Equal(["predicted_value", "prediction_probability"], result.Select(p => p.Key));
    }

    [Fact]
    public void Text_classification_lists_top_classes_when_asked()
    {
        var config = """{"text_classification":{"classification_labels":["a","b","c"]}}""";
        float[] logits = [1f, 3f, 2f];

        var two = Task(config, """{"text_classification":{"num_top_classes":2}}""").Prepare(["fun"]).ToResults([Output(logits, 1, 3)])[0];
        var top = two["top_classes"]!.AsArray();
        Assert.Equal(["b", "c"], top.Select(t => t!["class_name"]!.GetValue<string>()));
        Assert.Equal(top[0]!["class_probability"]!.GetValue<double>(), top[0]!["class_score"]!.GetValue<double>());
        Assert.Equal(["predicted_value", "top_classes", "prediction_probability"], two.Select(p => p.Key));

        var all = Task(config, """{"text_classification":{"num_top_classes":-1}}""").Prepare(["fun"]).ToResults([Output(logits, 1, 3)])[0];
        Assert.Equal(3, all["top_classes"]!.AsArray().Count);

        var renamed = Task(config, """{"text_classification":{"classification_labels":["x","y","z"]}}""").Prepare(["fun"]).ToResults([Output(logits, 1, 3)])[0];
        Assert.Equal("y", renamed["predicted_value"]!.GetValue<string>());
    }

    [Fact]
    public void Text_classification_averages_the_windows_of_a_long_text()
    {
        var config = """
            {"text_classification":{"classification_labels":["a","b"],
             "tokenization":{"bert":{"max_sequence_length":5,"truncate":"none","span":0}}}}
            """;
        var batch = Task(config).Prepare(["Pancake day fun with Elasticsearch and Godzilla", "fun"]);
        Assert.Equal(4, batch.Tokens.BatchSize); // three windows, then the short text

        // Window probabilities for "b": 0.5, 0.5, 1.0 (almost) → 2/3; the short text's own row decides alone.
        var results = batch.ToResults([Output([0f, 0f, 0f, 0f, -50f, 50f, 50f, -50f], 4, 2)]);

        Assert.Equal("b", results[0]["predicted_value"]!.GetValue<string>());
        Assert.Equal(2.0 / 3, results[0]["prediction_probability"]!.GetValue<double>(), 6);
        Assert.Equal("a", results[1]["predicted_value"]!.GetValue<string>());
    }

    [Fact]
    public void Text_classification_output_of_the_wrong_width_is_a_conflict()
    {
        var task = Task("""{"text_classification":{"classification_labels":["a","b"]}}""");

        var e = Assert.Throws<ElasticsearchException>(() => task.Prepare(["fun"]).ToResults([Output([1f, 2f, 3f], 1, 3)]));

        Assert.Equal(409, e.Status);
        Assert.Equal("Expected exactly [2] values in text classification result; got [3]", e.Reason);
    }

    [Fact]
    public void Truncated_input_is_flagged()
    {
        var task = Task("""{"pass_through":{"tokenization":{"bert":{"max_sequence_length":3}}}}""");

        var results = task.Prepare(["Elasticsearch fun", "fun"]).ToResults([Output([1f, 2f], 2, 1)]);

        Assert.True(results[0]["is_truncated"]!.GetValue<bool>());
        Assert.Null(results[1]["is_truncated"]);
    }

    [Fact]
    public void Ner_tags_words_groups_entities_and_annotates_the_text()
    {
        string[] vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "Elastic", "##search", "is", "in", "New", "York", "."];
        var task = NlpTask.For(
            Config("""{"ner":{"classification_labels":["O","B_ORG","I_ORG","B_LOC","I_LOC"]}}"""), Vocabulary(vocabulary));
        var batch = task.Prepare(["Elasticsearch is in New York."]);
        // [CLS] Elastic ##search is in New York . [SEP]
        int[] best = [0, 1, 2, 0, 0, 3, 4, 0, 0];
        var logits = best.SelectMany(tag => Enumerable.Range(0, 5).Select(i => i == tag ? 5f : 0f)).ToArray();

        var result = Assert.Single(batch.ToResults([Output(logits, 1, 9, 5)]));

        // The pieces of "Elasticsearch" average B_ORG and I_ORG to a tie; the first (B_ORG) wins.
        Assert.Equal("[Elasticsearch](ORG&Elasticsearch) is in [New York](LOC&New+York).", result["predicted_value"]!.GetValue<string>());
        var entities = result["entities"]!.AsArray();
        Assert.Equal(2, entities.Count);
        Assert.Equal("New York", entities[1]!["entity"]!.GetValue<string>());
        Assert.Equal("LOC", entities[1]!["class_name"]!.GetValue<string>());
        Assert.Equal(20, entities[1]!["start_pos"]!.GetValue<int>());
        Assert.Equal(28, entities[1]!["end_pos"]!.GetValue<int>());
        Assert.Equal(["entity", "class_name", "class_probability", "start_pos", "end_pos"], entities[0]!.AsObject().Select(p => p.Key));
        Assert.InRange(entities[1]!["class_probability"]!.GetValue<double>(), 0.9, 1.0);
    }

    [Fact]
    public void Ner_without_entities_returns_the_text_and_an_empty_list()
    {
        var task = Task("""{"ner":{}}"""); // ES's nine default IOB tags
        var logits = Enumerable.Range(0, 3 * 9).Select(i => i % 9 == 0 ? 5f : 0f).ToArray();

        var result = Assert.Single(task.Prepare(["fun"]).ToResults([Output(logits, 1, 3, 9)]));

        Assert.Equal("""{"predicted_value":"fun","entities":[]}""", result.ToJsonString());
    }

    [Fact]
    public void Fill_mask_predicts_the_masked_token_and_the_filled_sequence()
    {
        var task = Task("""{"fill_mask":{}}""");
        var batch = task.Prepare(["Elasticsearch is [MASK]."]);
        // [CLS] Elastic ##search is [MASK] . [SEP] over the 21-entry vocabulary; "fun" (3) wins at the mask.
        var logits = new float[7 * 21];
        logits[(4 * 21) + 3] = 10f;
        logits[(4 * 21) + 7] = 5f;

        var result = Assert.Single(batch.ToResults([Output(logits, 1, 7, 21)]));

        Assert.Equal("fun", result["predicted_value"]!.GetValue<string>());
        Assert.Equal("Elasticsearch is fun.", result["predicted_value_sequence"]!.GetValue<string>());
        var top = result["top_classes"]!.AsArray();
        Assert.Equal(5, top.Count);
        Assert.Equal(["fun", "car"], top.Take(2).Select(t => t!["class_name"]!.GetValue<string>()));
        Assert.Equal(["predicted_value", "top_classes", "prediction_probability", "predicted_value_sequence"], result.Select(p => p.Key));
    }

    [Fact]
    public void Fill_mask_of_an_mpnet_model_fills_its_own_mask_token()
    {
        string[] vocabulary = ["<s>", "<pad>", "</s>", "[UNK]", "<mask>", "fun", "car", "."];
        var task = NlpTask.For(Config("""{"fill_mask":{"tokenization":{"mpnet":{}}}}"""), Vocabulary(vocabulary));
        var batch = task.Prepare(["fun <mask>."]);
        Assert.Equal([0L, 5, 4, 7, 2], batch.Tokens.InputIds);
        var logits = new float[5 * 8];
        logits[(2 * 8) + 6] = 10f;

        var result = Assert.Single(batch.ToResults([Output(logits, 1, 5, 8)]));

        Assert.Equal("fun car.", result["predicted_value_sequence"]!.GetValue<string>());
        Assert.Equal("no <mask> token could be found in the input", Assert.Throws<ElasticsearchException>(() => task.Prepare(["[MASK]"])).Reason[22..^1]);
    }

    [Fact]
    public void Fill_mask_needs_exactly_one_mask()
    {
        var task = Task("""{"fill_mask":{}}""");

        var none = Assert.Throws<ElasticsearchException>(() => task.Prepare(["Elasticsearch is fun"]));
        Assert.Equal("validation_exception", none.Type);
        Assert.Equal("Validation Failed: 1: no [MASK] token could be found in the input;", none.Reason);

        var two = Assert.Throws<ElasticsearchException>(() => task.Prepare(["[MASK] is [MASK]"]));
        Assert.Equal(400, two.Status);
        Assert.Equal("only one [MASK] token should exist in the input", two.Reason);
    }
}
