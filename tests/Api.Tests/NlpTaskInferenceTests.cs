using System.Text.Json.Nodes;
using TrainedModelsOrleans.TestModels;
using Xunit;

namespace TrainedModelsOrleans.Api.Tests;

/// <summary>
/// question_answering, text_expansion, text_similarity and zero_shot_classification over HTTP: a model
/// built for each test (a token's id looks up a row the test wrote, so the answer is known by
/// construction), PUT with its vocabulary, started, and asked through <c>_infer</c> with the request's
/// <c>inference_config</c>.
/// </summary>
public sealed class NlpTaskInferenceTests(ServiceFixture service) : IClassFixture<ServiceFixture>
{
    private static readonly string[] Words =
    [
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "what", "is", "the", "capital", "of", "france", "paris", "a", "city",
        "in", "europe", "new", "york", "team", "won", "game", "sports", "politics", "This", "example", ".", "?",
    ];

    private static int Id(string word) => Array.IndexOf(Words, word);

    private async Task<string> UploadAsync(string task, JsonObject taskConfig, byte[] model)
    {
        var id = Deployments.NewId(task.Replace('_', '-'));
        var config = ModelUploads.OnnxConfig(task: task);
        config["inference_config"] = new JsonObject { [task] = taskConfig };
        (await service.PutAsync($"/_ml/trained_models/{id}", config)).AssertOk();
        (await service.PutAsync($"/_ml/trained_models/{id}/definition/0", ModelUploads.Parts(model, 1)[0])).AssertOk();
        var vocabulary = new JsonArray(Words.Select(w => (JsonNode?)w).ToArray());
        (await service.PutAsync($"/_ml/trained_models/{id}/vocabulary", new JsonObject { ["vocabulary"] = vocabulary })).AssertOk();
        (await service.StartAsync(id)).AssertOk();
        return id;
    }

    private Task<Response> InferAsync(string id, JsonObject? inferenceConfig, params string[] texts)
    {
        var body = new JsonObject { ["docs"] = new JsonArray(texts.Select(t => (JsonNode?)new JsonObject { ["input"] = t }).ToArray()) };
        if (inferenceConfig is not null) body["inference_config"] = inferenceConfig;
        return service.PostAsync($"/_ml/trained_models/{id}/_infer", body);
    }

    private static JsonObject Update(string json) => JsonNode.Parse(json)!.AsObject();

    private static JsonArray Strings(params string[] values) => new(values.Select(v => (JsonNode?)v).ToArray());

    private static double Softmax(IReadOnlyList<double> values, int index) => Math.Exp(values[index]) / values.Sum(Math.Exp);

    // --- question_answering ---

    private static byte[] QuestionAnsweringModel()
    {
        // "paris" starts and ends the best answer; "new" … "york" the second.
        var start = new float[Words.Length];
        var end = new float[Words.Length];
        (start[Id("paris")], end[Id("paris")]) = (5f, 5f);
        (start[Id("new")], end[Id("york")]) = (3f, 3f);
        return TokenTableModels.QuestionAnswering(start, end);
    }

    [Fact]
    public async Task Question_answering_finds_the_answer_in_the_context_with_offsets_and_top_answers()
    {
        var model = await UploadAsync("question_answering", new JsonObject(), QuestionAnsweringModel());
        const string context = "new york is a city . paris is the capital of france .";

        var response = await InferAsync(model, Update("""{"question_answering":{"question":"what is the capital of france ?","num_top_classes":2,"max_answer_length":3}}"""), context);

        var result = response.AssertOk().Body["inference_results"]![0]!.AsObject();
        Assert.Equal(["predicted_value", "start_offset", "end_offset", "top_classes", "prediction_probability"], result.Select(p => p.Key));
        Assert.Equal("paris", result["predicted_value"]!.GetValue<string>());
        Assert.Equal(21, result["start_offset"]!.GetValue<int>());
        Assert.Equal(26, result["end_offset"]!.GetValue<int>());
        // Softmax over [CLS] and the context's 13 tokens: paris (5) and new/york (3 as a start or an end), the rest 0.
        var others = 1 + 13 - 2;
        var startOfParis = Math.Exp(5) / (others + Math.Exp(5) + Math.Exp(3));
        var endOfParis = Math.Exp(5) / (others + Math.Exp(5) + Math.Exp(3));
        Assert.Equal(startOfParis * endOfParis, result["prediction_probability"]!.GetValue<double>(), 9);
        // At most 3 tokens: "new … paris" is too long, so "new york" is second.
        var top = result["top_classes"]!.AsArray();
        Assert.Equal(["paris", "new york"], top.Select(t => t!["answer"]!.GetValue<string>()));
        Assert.Equal([0, 8], [top[1]!["start_offset"]!.GetValue<int>(), top[1]!["end_offset"]!.GetValue<int>()]);
        (await service.StopAsync(model)).AssertOk();
    }

    [Fact]
    public async Task Question_answering_spans_a_long_context_and_answers_from_the_window_holding_it()
    {
        // 16 tokens: [CLS] + 7 question tokens + [SEP] + 6 context tokens + [SEP]; windows overlap by 2.
        var model = await UploadAsync("question_answering", Update("""{"tokenization":{"bert":{"max_sequence_length":16,"truncate":"none","span":2}}}"""),
            QuestionAnsweringModel());
        const string context = "the city of the team is a city in europe . the capital of france is paris .";

        var result = (await InferAsync(model, Update("""{"question_answering":{"question":"what is the capital of france ?"}}"""), context))
            .AssertOk().Body["inference_results"]![0]!.AsObject();

        Assert.Equal("paris", result["predicted_value"]!.GetValue<string>());
        Assert.Equal(context.IndexOf("paris", StringComparison.Ordinal), result["start_offset"]!.GetValue<int>());
        Assert.Equal(context.IndexOf("paris", StringComparison.Ordinal) + 5, result["end_offset"]!.GetValue<int>());
        Assert.Null(result["top_classes"]);
        Assert.Null(result["is_truncated"]);
        (await service.StopAsync(model)).AssertOk();
    }

    [Fact]
    public async Task Question_answering_without_a_question_or_with_bad_settings_is_a_bad_request()
    {
        var model = await UploadAsync("question_answering", new JsonObject(), QuestionAnsweringModel());

        (await InferAsync(model, null, "paris")).AssertError(400, "status_exception",
            "please provide configuration update for question_answering task including the desired [question]");
        (await InferAsync(model, Update("""{"question_answering":{"num_top_classes":1}}"""), "paris"))
            .AssertError(400, "illegal_argument_exception", "[question] must not be null.");
        (await InferAsync(model, Update("""{"question_answering":{"max_answer_length":0,"question":"what ?"}}"""), "paris"))
            .AssertError(400, "status_exception", "[max_answer_length] must be greater than [0]; provided [0]");
        (await InferAsync(model, Update("""{"question_answering":{"question":"what ?","labels":["a"]}}"""), "paris"))
            .AssertError(400, "x_content_parse_exception", "[question_answering] unknown field [labels]");
        (await InferAsync(model, Update("""{"text_similarity":{"text":"what ?"}}"""), "paris"))
            .AssertError(403, "status_exception", "is configured for task [question_answering] but called with task [text_similarity]");
        (await service.StopAsync(model)).AssertOk();

        // ES's config rules at PUT.
        var config = ModelUploads.OnnxConfig(task: "question_answering");
        config["inference_config"] = Update("""{"question_answering":{"num_top_classes":-1}}""");
        (await service.PutAsync($"/_ml/trained_models/{Deployments.NewId("qa-bad")}", config))
            .AssertError(400, "x_content_parse_exception", "failed to parse field");
    }

    // --- text_expansion ---

    [Fact]
    public async Task Text_expansion_returns_the_max_pooled_weights_of_the_expanded_tokens()
    {
        // log(1 + ReLU(x)) per token: "paris" expands to paris, france, city; "city" to city, europe. [CLS]/[SEP] weigh nothing.
        var table = new float[Words.Length, Words.Length];
        (table[Id("paris"), Id("paris")], table[Id("paris"), Id("france")], table[Id("paris"), Id("city")]) = (2f, 1f, 0.5f);
        (table[Id("city"), Id("city")], table[Id("city"), Id("europe")], table[Id("city"), Id("game")]) = (1f, 0.3f, -4f);
        var model = await UploadAsync("text_expansion", new JsonObject(), TokenTableModels.Expansion(table));

        var result = (await InferAsync(model, null, "paris city")).AssertOk().Body["inference_results"]![0]!.AsObject();

        var tokens = result["predicted_value"]!.AsObject();
        // Heaviest first; france and city weigh the same (log 2) and keep the vocabulary's order.
        Assert.Equal(["paris", "france", "city", "europe"], tokens.Select(p => p.Key));
        Assert.Equal(MathF.Log(3f), tokens["paris"]!.GetValue<float>(), 5);
        Assert.Equal(MathF.Log(2f), tokens["city"]!.GetValue<float>(), 5);
        Assert.Equal(MathF.Log(1.3f), tokens["europe"]!.GetValue<float>(), 5);

        var renamed = (await InferAsync(model, Update("""{"text_expansion":{"results_field":"ml.tokens"}}"""), "city")).AssertOk();
        Assert.Equal(["city", "europe"], renamed.Body["inference_results"]![0]!["ml.tokens"]!.AsObject().Select(p => p.Key));
        (await service.StopAsync(model)).AssertOk();
    }

    // --- text_similarity ---

    private static byte[] CrossEncoder()
    {
        // The score is the sum of the pair's token weights.
        var table = new float[Words.Length, 1];
        (table[Id("paris"), 0], table[Id("france"), 0], table[Id("capital"), 0]) = (2f, 1f, 0.5f);
        return TokenTableModels.Summed(table);
    }

    [Fact]
    public async Task Text_similarity_scores_the_text_against_each_document()
    {
        var model = await UploadAsync("text_similarity", new JsonObject(), CrossEncoder());

        var results = (await InferAsync(model, Update("""{"text_similarity":{"text":"capital of france"}}"""), "paris is the capital", "new york"))
            .AssertOk().Body["inference_results"]!.AsArray();

        Assert.Equal("""{"predicted_value":4}""", results[0]!.ToJsonString());
        Assert.Equal("""{"predicted_value":1.5}""", results[1]!.ToJsonString());
        (await InferAsync(model, null, "paris")).AssertError(400, "status_exception",
            "please provide configuration update for text_similarity task including the desired [text]");
        (await InferAsync(model, Update("""{"text_similarity":{"text":"x","span_score_combination_function":"sum"}}"""), "paris"))
            .AssertError(400, "illegal_argument_exception", "No enum constant org.elasticsearch.xpack.core.ml.inference.trainedmodel.TextSimilarityConfig.SpanScoreFunction.SUM");
        (await service.StopAsync(model)).AssertOk();
    }

    [Fact]
    public async Task Text_similarity_of_a_long_document_combines_its_windows_by_mean_or_max()
    {
        var model = await UploadAsync("text_similarity",
            Update("""{"span_score_combination_function":"mean","tokenization":{"bert":{"max_sequence_length":10,"truncate":"none","span":2}}}"""),
            CrossEncoder());
        // 12 tokens in windows of 6 overlapping by 2: [0,6) holds paris, [4,10) and [8,12) do not; each pair also holds "capital".
        const string document = "paris a a a a a a a a a a a";

        var mean = (await InferAsync(model, Update("""{"text_similarity":{"text":"capital"}}"""), document)).AssertOk();
        var max = (await InferAsync(model, Update("""{"text_similarity":{"text":"capital","span_score_combination_function":"max"}}"""), document)).AssertOk();

        Assert.Equal((2.5 + 0.5 + 0.5) / 3, mean.Body["inference_results"]![0]!["predicted_value"]!.GetValue<double>(), 6);
        Assert.Equal(2.5, max.Body["inference_results"]![0]!["predicted_value"]!.GetValue<double>(), 6);
        (await service.StopAsync(model)).AssertOk();
    }

    // --- zero_shot_classification ---

    private static byte[] EntailmentModel()
    {
        // NLI logits [contradiction, neutral, entailment], summed over the pair: a hypothesis about
        // sports is entailed, one about politics contradicted; "game" in the text adds entailment to both.
        var table = new float[Words.Length, 3];
        table[Id("sports"), 2] = 2f;
        table[Id("politics"), 0] = 2f;
        table[Id("game"), 2] = 1f;
        return TokenTableModels.Summed(table);
    }

    [Fact]
    public async Task Zero_shot_classification_picks_the_entailed_label_and_lists_every_label()
    {
        var model = await UploadAsync("zero_shot_classification",
            Update("""{"classification_labels":["contradiction","neutral","entailment"],"labels":["politics","sports"]}"""), EntailmentModel());

        var single = (await InferAsync(model, null, "the team won the game")).AssertOk().Body["inference_results"]![0]!.AsObject();

        Assert.Equal(["predicted_value", "top_classes", "prediction_probability"], single.Select(p => p.Key));
        Assert.Equal("sports", single["predicted_value"]!.GetValue<string>());
        // Entailment logits: politics 0 + 1, sports 2 + 1.
        Assert.Equal(Softmax([1, 3], 1), single["prediction_probability"]!.GetValue<double>(), 6);
        var top = single["top_classes"]!.AsArray();
        Assert.Equal(["sports", "politics"], top.Select(t => t!["class_name"]!.GetValue<string>()));
        Assert.Equal(Softmax([1, 3], 0), top[1]!["class_probability"]!.GetValue<double>(), 6);

        // multi_label: each label's entailment against its contradiction.
        var multi = (await InferAsync(model, Update("""{"zero_shot_classification":{"multi_label":true,"labels":["sports","politics","game"]}}"""),
            "the team won the game")).AssertOk().Body["inference_results"]![0]!;
        var scores = multi["top_classes"]!.AsArray().ToDictionary(t => t!["class_name"]!.GetValue<string>(), t => t!["class_probability"]!.GetValue<double>());
        Assert.Equal(Softmax([3, 0], 0), scores["sports"], 6);
        Assert.Equal(Softmax([1, 2], 0), scores["politics"], 6);
        Assert.Equal(Softmax([2, 0], 0), scores["game"], 6); // "game" in the text and in the hypothesis
        (await service.StopAsync(model)).AssertOk();
    }

    [Fact]
    public async Task Zero_shot_classification_errors_name_the_labels()
    {
        var model = await UploadAsync("zero_shot_classification", Update("""{"classification_labels":["entailment","neutral","contradiction"]}"""),
            EntailmentModel());

        (await InferAsync(model, null, "the game")).AssertError(400, "status_exception", "zero_shot_classification requires non-empty [labels]");
        (await InferAsync(model, Update("""{"zero_shot_classification":{"multi_label":true}}"""), "the game")).AssertError(400, "status_exception",
            "stored configuration has no [labels] defined, supplied inference_config update must supply [labels]");
        (await InferAsync(model, Update("""{"zero_shot_classification":{"labels":[]}}"""), "the game"))
            .AssertError(400, "status_exception", "[labels] must not be empty");
        var ok = (await InferAsync(model, Update("""{"zero_shot_classification":{"labels":["politics"]}}"""), "the game")).AssertOk();
        Assert.Equal(1.0, ok.Body["inference_results"]![0]!["prediction_probability"]!.GetValue<double>());
        (await service.StopAsync(model)).AssertOk();

        var config = ModelUploads.OnnxConfig(task: "zero_shot_classification");
        config["inference_config"] = Update("""{"zero_shot_classification":{"classification_labels":["entailment","neutral","maybe"]}}""");
        (await service.PutAsync($"/_ml/trained_models/{Deployments.NewId("zs-bad")}", config)).AssertError(400, "x_content_parse_exception", "failed to parse field");
    }
}
