using System.Text.Json.Nodes;
using TrainedModelsOrleans.TestModels;
using Xunit;

namespace TrainedModelsOrleans.Api.Tests;

public sealed class TextInferenceTests(ServiceFixture service) : IClassFixture<ServiceFixture>
{
    private static readonly string[] Labels = ["a", "b", "c", "d", "e", "f", "g", "h"];

    /// <summary>1000 entries to match the test text model: specials, two words, then fillers.</summary>
    private static JsonArray Vocabulary() =>
        new(new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world" }
            .Concat(Enumerable.Range(7, 993).Select(i => $"w{i}")).Select(t => (JsonNode?)t).ToArray());

    private Task<string> UploadTextModelAsync(string task, JsonObject? taskConfig = null, bool vocabulary = true) =>
        UploadAsync(task, taskConfig, TestOnnxModels.Text(attentionMask: true), vocabulary ? Vocabulary() : null);

    private async Task<string> UploadAsync(string task, JsonObject? taskConfig, byte[] model, JsonArray? vocabulary)
    {
        var id = Deployments.NewId(task.Replace('_', '-'));
        var config = ModelUploads.OnnxConfig(task: task);
        config["inference_config"] = new JsonObject { [task] = taskConfig ?? new JsonObject() };
        (await service.PutAsync($"/_ml/trained_models/{id}", config)).AssertOk();
        var part = ModelUploads.Parts(model, 1)[0];
        (await service.PutAsync($"/_ml/trained_models/{id}/definition/0", part)).AssertOk();
        if (vocabulary is not null) (await service.PutAsync($"/_ml/trained_models/{id}/vocabulary", new JsonObject { ["vocabulary"] = vocabulary })).AssertOk();
        (await service.StartAsync(id)).AssertOk();
        return id;
    }

    private static double SoftmaxOf(float[] logits, int index) => Math.Exp(logits[index]) / logits.Sum(l => Math.Exp(l));

    private static JsonArray Strings(IEnumerable<string> values) => new(values.Select(v => (JsonNode?)v).ToArray());

    private Task<Response> InferAsync(string id, params string[] texts) =>
        service.PostAsync($"/_ml/trained_models/{id}/_infer", new JsonObject
        {
            ["docs"] = new JsonArray(texts.Select(t => (JsonNode?)new JsonObject { ["input"] = t }).ToArray()),
        });

    /// <summary>What the model computes for "[CLS] hello world [SEP]".</summary>
    private static float[] Reference() => TestOnnxModels.TextReference([2, 5, 6, 3], [1, 1, 1, 1], batch: 1, sequence: 4);

    [Fact]
    public async Task Pass_through_tokenizes_with_wordpiece_and_returns_the_raw_output()
    {
        var model = await UploadTextModelAsync("pass_through");
        var result = (await InferAsync(model, "hello world")).AssertOk().Body["inference_results"]![0]!; // ES: do_lower_case defaults to false
        var expected = Reference();
        var actual = result["predicted_value"]![0]!.AsArray().Select(v => v!.GetValue<float>()).ToArray();
        for (var i = 0; i < expected.Length; i++) Assert.Equal(expected[i], actual[i], 1e-5f);
        (await service.StopAsync(model)).AssertOk();
    }

    [Fact]
    public async Task Text_classification_returns_labels_top_classes_and_probability()
    {
        var model = await UploadTextModelAsync("text_classification", new JsonObject
        {
            ["classification_labels"] = new JsonArray(Labels.Select(l => (JsonNode?)l).ToArray()),
            ["num_top_classes"] = 2,
        });
        var results = (await InferAsync(model, "hello world", "world hello")).AssertOk().Body["inference_results"]!;
        Assert.Equal(2, results.AsArray().Count);

        var reference = Reference();
        var best = Labels[Array.IndexOf(reference, reference.Max())];
        var first = results[0]!;
        Assert.Equal(best, first["predicted_value"]!.GetValue<string>());
        Assert.Equal(2, first["top_classes"]!.AsArray().Count);
        Assert.Equal(best, first["top_classes"]![0]!["class_name"]!.GetValue<string>());
        Assert.InRange(first["prediction_probability"]!.GetValue<double>(), 0, 1);
        (await service.StopAsync(model)).AssertOk();
    }

    [Fact]
    public async Task Text_inference_errors_name_the_missing_field_and_the_missing_vocabulary()
    {
        var model = await UploadTextModelAsync("text_embedding");
        (await service.PostAsync($"/_ml/trained_models/{model}/_infer", new JsonObject { ["docs"] = new JsonArray(new JsonObject { ["other"] = "x" }) }))
            .AssertError(400, "status_exception", "Input field [input] does not exist in the source document");
        var embedding = (await InferAsync(model, "hello world")).AssertOk().Body["inference_results"]![0]!["predicted_value"]!.AsArray();
        Assert.Equal(8, embedding.Count);
        (await service.StopAsync(model)).AssertOk();

        var bare = await UploadTextModelAsync("pass_through", vocabulary: false);
        (await InferAsync(bare, "hello")).AssertError(409, "status_exception", "has no vocabulary");
        (await service.StopAsync(bare)).AssertOk();
    }

    [Fact]
    public async Task Ner_returns_entities_with_classes_probabilities_and_positions_and_the_annotated_text()
    {
        string[] vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "Elastic", "is", "in", "New", "York", "."];
        string[] labels = ["O", "B_ORG", "I_ORG", "B_LOC", "I_LOC"];
        // Each word's best tag: Elastic → B_ORG, New → B_LOC, York → I_LOC, the rest O (a margin of 3, 2 or 4).
        var table = new float[vocabulary.Length, labels.Length];
        for (var word = 0; word < vocabulary.Length; word++) table[word, 0] = 1f;
        (table[5, 1], table[8, 3], table[9, 4]) = (4f, 3f, 5f);
        var model = await UploadAsync("ner", new JsonObject { ["classification_labels"] = Strings(labels) }, TokenTableModels.PerToken(table), Strings(vocabulary));

        var results = (await InferAsync(model, "Elastic is in New York.", "is in")).AssertOk().Body["inference_results"]!.AsArray();

        Assert.Equal(2, results.Count);
        var result = results[0]!.AsObject();
        Assert.Equal(["predicted_value", "entities"], result.Select(p => p.Key));
        Assert.Equal("[Elastic](ORG&Elastic) is in [New York](LOC&New+York).", result["predicted_value"]!.GetValue<string>());
        var entities = result["entities"]!.AsArray();
        Assert.Equal(2, entities.Count);
        Assert.Equal(["entity", "class_name", "class_probability", "start_pos", "end_pos"], entities[0]!.AsObject().Select(p => p.Key));
        double Probability(int word, int label) => SoftmaxOf(Enumerable.Range(0, labels.Length).Select(l => table[word, l]).ToArray(), label);
        AssertEntity(entities[0]!, "Elastic", "ORG", Probability(5, 1), 0, 7);
        AssertEntity(entities[1]!, "New York", "LOC", (Probability(8, 3) + Probability(9, 4)) / 2, 14, 22);
        Assert.Equal("""{"predicted_value":"is in","entities":[]}""", results[1]!.ToJsonString());
        (await service.StopAsync(model)).AssertOk();
    }

    private static void AssertEntity(JsonNode entity, string text, string className, double probability, int start, int end)
    {
        Assert.Equal(text, entity["entity"]!.GetValue<string>());
        Assert.Equal(className, entity["class_name"]!.GetValue<string>());
        Assert.Equal(probability, entity["class_probability"]!.GetValue<double>(), 5);
        Assert.Equal(start, entity["start_pos"]!.GetValue<int>());
        Assert.Equal(end, entity["end_pos"]!.GetValue<int>());
    }

    [Fact]
    public async Task Fill_mask_returns_the_best_token_top_classes_probability_and_the_filled_sequence()
    {
        string[] vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "capital", "of", "france", "is", "paris", "london", "lyon", "."];
        // Only the mask's row matters: paris, then london, then lyon; every other token equally unlikely.
        var table = new float[vocabulary.Length, vocabulary.Length];
        (table[4, 10], table[4, 11], table[4, 12]) = (6f, 4f, 2f);
        var model = await UploadAsync("fill_mask", new JsonObject { ["num_top_classes"] = 3 }, TokenTableModels.PerToken(table), Strings(vocabulary));

        var response = (await InferAsync(model, "the capital of france is [MASK].")).AssertOk();

        var result = response.Body["inference_results"]![0]!.AsObject();
        Assert.Equal(["predicted_value", "top_classes", "prediction_probability", "predicted_value_sequence"], result.Select(p => p.Key));
        Assert.Equal("paris", result["predicted_value"]!.GetValue<string>());
        Assert.Equal("the capital of france is paris.", result["predicted_value_sequence"]!.GetValue<string>());
        var maskRow = Enumerable.Range(0, vocabulary.Length).Select(t => table[4, t]).ToArray();
        Assert.Equal(SoftmaxOf(maskRow, 10), result["prediction_probability"]!.GetValue<double>(), 5);
        var top = result["top_classes"]!.AsArray();
        Assert.Equal(["paris", "london", "lyon"], top.Select(t => t!["class_name"]!.GetValue<string>()));
        Assert.Equal(["class_name", "class_probability", "class_score"], top[0]!.AsObject().Select(p => p.Key));
        for (var i = 0; i < 3; i++) Assert.Equal(SoftmaxOf(maskRow, 10 + i), top[i]!["class_probability"]!.GetValue<double>(), 5);

        // One [MASK] per doc, as ES requires.
        (await InferAsync(model, "the capital of france")).AssertError(400, "validation_exception", "no [MASK] token could be found in the input");
        (await InferAsync(model, "[MASK] of [MASK]")).AssertError(400, "status_exception", "only one [MASK] token should exist in the input");
        (await service.StopAsync(model)).AssertOk();
    }

    /// <summary>The ids a pass_through model saw: a one-column token scorer answers each token's id.</summary>
    private static int[] IdsOf(JsonNode result) => Numbers(result["predicted_value"]!).Select(v => (int)v).ToArray();

    private static IEnumerable<float> Numbers(JsonNode node) =>
        node is JsonArray array ? array.SelectMany(n => Numbers(n!)) : [node.GetValue<float>()];

    [Fact]
    public async Task Roberta_and_xlm_roberta_models_tokenize_with_the_merges_and_scores_uploaded_with_the_vocabulary()
    {
        string[] bpeVocabulary = ["<s>", "<pad>", "</s>", "<unk>", "h", "e", "l", "o", "Ġ", "w", "r", "d", "he", "ll", "hell", "hello", "Ġw", "or", "Ġwor", "Ġworl", "Ġworld", "<mask>"];
        string[] merges = ["h e", "l l", "he ll", "hell o", "Ġ w", "o r", "Ġw or", "Ġwor l", "Ġworl d"];
        string[] unigramVocabulary = ["<s>", "<pad>", "</s>", "<unk>", "▁hello", "▁world", "▁", "<mask>"];
        double[] scores = [0, 0, 0, 0, -1, -1, -2, 0];

        var roberta = await UploadIdScorerAsync("roberta", bpeVocabulary.Length);
        (await service.PutAsync($"/_ml/trained_models/{roberta}/vocabulary", new JsonObject { ["vocabulary"] = Strings(bpeVocabulary) }))
            .AssertError(400, "status_exception", $"cannot put vocabulary for model [{roberta}] as tokenizer type [roberta] requires [merges] to be provided and non-empty");
        (await service.PutAsync($"/_ml/trained_models/{roberta}/vocabulary", new JsonObject { ["vocabulary"] = Strings(bpeVocabulary), ["merges"] = Strings(merges) })).AssertOk();
        (await service.StartAsync(roberta)).AssertOk();
        var robertaResult = (await InferAsync(roberta, "hello world")).AssertOk().Body["inference_results"]![0]!;
        Assert.Equal(new[] { 0, 15, 20, 2 }, IdsOf(robertaResult));
        (await service.StopAsync(roberta)).AssertOk();

        var xlm = await UploadIdScorerAsync("xlm_roberta", unigramVocabulary.Length);
        (await service.PutAsync($"/_ml/trained_models/{xlm}/vocabulary", new JsonObject { ["vocabulary"] = Strings(unigramVocabulary) }))
            .AssertError(400, "status_exception", $"cannot put vocabulary for model [{xlm}] as tokenizer type [xlm_roberta] requires [scores] to be provided and non-empty");
        var scoreArray = new JsonArray(scores.Select(v => (JsonNode?)v).ToArray());
        (await service.PutAsync($"/_ml/trained_models/{xlm}/vocabulary", new JsonObject { ["vocabulary"] = Strings(unigramVocabulary), ["scores"] = scoreArray })).AssertOk();
        (await service.StartAsync(xlm)).AssertOk();
        var results = (await InferAsync(xlm, "hello world", "hello xyz")).AssertOk().Body["inference_results"]!;
        Assert.Equal([0, 4, 5, 2], IdsOf(results[0]!));
        Assert.Equal([0, 4, 6, 3, 2], IdsOf(results[1]!)[..5]); // "xyz" is "▁" and one fused <unk>
        (await service.StopAsync(xlm)).AssertOk();
    }

    [Fact]
    public async Task Bad_tokenization_options_are_refused_naming_the_field_and_rule()
    {
        var id = Deployments.NewId("bad-tokenization");
        var config = ModelUploads.OnnxConfig(task: "pass_through");
        config["inference_config"] = JsonNode.Parse("""{"pass_through":{"tokenization":{"xlm_roberta":{"do_lower_case":true}}}}""");
        // ES wraps a tokenization's own error in the parse error of the field ("failed to parse field [...]"), the rule as its cause.
        var lowerCase = (await service.PutAsync($"/_ml/trained_models/{id}", config)).AssertError(400, "x_content_parse_exception", "failed to parse field");
        Assert.Contains("unable to set [do_lower_case] to [true] for XLMRoberta tokenizer", lowerCase.Text);
        config["inference_config"] = JsonNode.Parse("""{"pass_through":{"tokenization":{"roberta":{"truncate":"first","span":8}}}}""");
        var span = (await service.PutAsync($"/_ml/trained_models/{id}", config)).AssertError(400, "x_content_parse_exception", "failed to parse field");
        Assert.Contains("[span] must not be provided when [truncate] is [first]", span.Text);
        config["inference_config"] = JsonNode.Parse("""{"pass_through":{"tokenization":{"deberta_v2":{"add_prefix_space":true}}}}""");
        var unknown = (await service.PutAsync($"/_ml/trained_models/{id}", config)).AssertError(400, "x_content_parse_exception", "");
        Assert.Contains("[deberta_v2_tokenization] unknown field [add_prefix_space]", unknown.Text);
    }

    private async Task<string> UploadIdScorerAsync(string tokenization, int vocabularySize)
    {
        var id = Deployments.NewId(tokenization.Replace('_', '-'));
        var config = ModelUploads.OnnxConfig(task: "pass_through");
        config["inference_config"] = new JsonObject { ["pass_through"] = new JsonObject { ["tokenization"] = new JsonObject { [tokenization] = new JsonObject() } } };
        (await service.PutAsync($"/_ml/trained_models/{id}", config)).AssertOk();
        var table = new float[vocabularySize, 1];
        for (var i = 0; i < vocabularySize; i++) table[i, 0] = i;
        (await service.PutAsync($"/_ml/trained_models/{id}/definition/0", ModelUploads.Parts(TokenTableModels.PerToken(table), 1)[0])).AssertOk();
        return id;
    }
}
