using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Inference.Nlp;
using TrainedModelsOrleans.Inference.OnnxRuntime;
using TrainedModelsOrleans.Inference.Text;
using static TrainedModelsOrleans.Nlp.Tests.NlpModels;

namespace TrainedModelsOrleans.Nlp.Tests;

/// <summary>
/// question_answering, text_expansion, text_similarity and zero_shot_classification: each processor's
/// math as a plain function, and each task's result shape from hand-made outputs (test vocabulary:
/// [CLS] = 12, [SEP] = 13, [PAD] = 19).
/// </summary>
public class PairTaskTests
{
    private static NlpTask Task(string config, string? update = null) =>
        NlpTask.For(Config(config), Vocabulary(), update is null ? null : Update(update));

    private static ElasticsearchException Refused(Action action) => Assert.Throws<ElasticsearchException>(action);

    private static OnnxOutput Named(string name, float[] data, params long[] shape) => new(name, OnnxElementType.Float, shape, data);

    private static double Softmax(double[] values, int index) => Math.Exp(values[index]) / values.Sum(Math.Exp);

    // --- question_answering ---

    [Fact]
    public void Question_answering_scores_start_times_end_over_the_context_and_cls_only()
    {
        // [CLS] is fun [SEP] my little red car [SEP]: the context starts at 4, the last [SEP] is at 8.
        double[] start = [9, 9, 9, 9, 0, 3, 0, 0, 9];
        double[] end = [9, 9, 9, 9, 0, 0, 0, 2, 9];

        var answer = Assert.Single(QuestionAnsweringProcessor.TopScores(start, end, 1, seq2Start: 4, tokenSize: 9, maxAnswerLength: 15, window: 0));

        // The question and the last [SEP] are masked; [CLS] takes part in the softmax.
        double[] kept = [9, 0, 3, 0, 0];
        double[] keptEnd = [9, 0, 0, 0, 2];
        Assert.Equal((1, 3), (answer.StartToken, answer.EndToken));
        Assert.Equal(Softmax(kept, 2) * Softmax(keptEnd, 4), answer.Score, 12);
    }

    [Fact]
    public void Question_answering_answers_are_at_most_max_answer_length_tokens()
    {
        double[] start = [0, 0, 0, 0, 0, 3, 0, 0, 0];
        double[] end = [0, 0, 0, 0, 0, 0, 0, 2, 0];

        var answer = Assert.Single(QuestionAnsweringProcessor.TopScores(start, end, 1, 4, 9, maxAnswerLength: 2, window: 0));

        // "little red car" is 3 tokens; with at most 2 the best start keeps the best end it can reach.
        Assert.Equal(1, answer.StartToken);
        Assert.True(answer.EndToken - answer.StartToken < 2);
    }

    [Fact]
    public void Question_answering_returns_the_answer_its_offsets_and_top_answers()
    {
        var task = Task("""{"question_answering":{"num_top_classes":2}}""", """{"question_answering":{"question":"is fun"}}""");
        var batch = task.Prepare(["my little red car"]);
        Assert.Equal([12, 2, 3, 13, 4, 5, 6, 7, 13], batch.Tokens.Sequences[0].TokenIds.ToArray());
        float[] start = [0, 0, 0, 0, 0, 4, 0, 1, 0];
        float[] end = [0, 0, 0, 0, 0, 0, 0, 4, 0];

        var result = Assert.Single(batch.ToResults([Named("start_logits", start, 1, 9), Named("end_logits", end, 1, 9)]));

        Assert.Equal(["predicted_value", "start_offset", "end_offset", "top_classes", "prediction_probability"], result.Select(p => p.Key));
        Assert.Equal("little red car", result["predicted_value"]!.GetValue<string>());
        Assert.Equal(3, result["start_offset"]!.GetValue<int>());
        Assert.Equal(17, result["end_offset"]!.GetValue<int>());
        var top = result["top_classes"]!.AsArray();
        Assert.Equal(2, top.Count);
        Assert.Equal(["answer", "start_offset", "end_offset", "score"], top[0]!.AsObject().Select(p => p.Key));
        Assert.Equal("little red car", top[0]!["answer"]!.GetValue<string>());
        Assert.Equal("car", top[1]!["answer"]!.GetValue<string>());
        Assert.Equal(top[0]!["score"]!.GetValue<double>(), result["prediction_probability"]!.GetValue<double>());
    }

    [Fact]
    public void Question_answering_reads_one_output_of_start_and_end_pairs()
    {
        var batch = Task("""{"question_answering":{}}""", """{"question_answering":{"question":"is"}}""").Prepare(["red car"]);
        // [CLS] is [SEP] red car [SEP]: start on "red", end on "red".
        var data = new float[6 * 2];
        data[3 * 2] = 5; // start of "red"
        data[(3 * 2) + 1] = 5; // end of "red"

        var result = Assert.Single(batch.ToResults([Named("logits", data, 1, 6, 2)]));

        Assert.StartsWith("""{"predicted_value":"red","start_offset":0,"end_offset":3,"prediction_probability":""", result.ToJsonString());
    }

    [Fact]
    public void Question_answering_windows_a_long_context_and_answers_from_the_best_window_with_document_offsets()
    {
        // 12 pieces; 10 tokens at most: [CLS] is [SEP] + 6 context pieces + [SEP]; windows overlap by 2.
        const string context = "my little red car is fun , God day with Pancake .";
        var task = Task("""{"question_answering":{"tokenization":{"bert":{"max_sequence_length":10,"truncate":"none","span":2}}}}""",
            """{"question_answering":{"question":"is"}}""");
        var batch = task.Prepare([context]);
        Assert.Equal(3, batch.Tokens.BatchSize);
        Assert.Equal(["[CLS]", "is", "[SEP]", "day", "with", "Pancake", ".", "[SEP]"], batch.Tokens.Sequences[2].Tokens);

        var start = new float[3 * 10];
        var end = new float[3 * 10];
        start[(2 * 10) + 5] = end[(2 * 10) + 5] = 6; // "Pancake" in the third window
        start[5] = end[5] = 2; // "red" in the first: a worse answer

        var result = Assert.Single(batch.ToResults([Named("start_logits", start, 3, 10), Named("end_logits", end, 3, 10)]));

        Assert.Equal("Pancake", result["predicted_value"]!.GetValue<string>());
        Assert.Equal(context.IndexOf("Pancake", StringComparison.Ordinal), result["start_offset"]!.GetValue<int>());
        Assert.Null(result["is_truncated"]);
    }

    [Fact]
    public void Question_answering_without_a_span_truncates_as_configured()
    {
        const string context = "my little red car is fun";
        // truncate first (the default) would cut the question, which cannot make room for a long context.
        var first = Task("""{"question_answering":{"tokenization":{"bert":{"max_sequence_length":6}}}}""", """{"question_answering":{"question":"is"}}""");
        Assert.Equal("Attempting truncation [first] but input is too large for the second sequence. The tokenized input length [6] exceeds the maximum sequence length [3], when taking special tokens into account",
            Refused(() => first.Prepare([context])).Reason);

        var second = first.WithUpdate(Update("""{"question_answering":{"question":"is","tokenization":{"bert":{"truncate":"second"}}}}"""));
        var batch = second.Prepare([context]);
        Assert.Equal(["[CLS]", "is", "[SEP]", "my", "little", "[SEP]"], batch.Tokens.Sequences[0].Tokens);
        float[] start = [0, 0, 0, 0, 4, 0];
        var result = Assert.Single(batch.ToResults([Named("start_logits", start, 1, 6), Named("end_logits", start, 1, 6)]));
        Assert.Equal("little", result["predicted_value"]!.GetValue<string>());
        Assert.True(result["is_truncated"]!.GetValue<bool>());
    }

    [Fact]
    public void Windows_end_on_words_and_overlap_by_the_span()
    {
        // Word positions of 8 pieces: word 2 has three pieces.
        int[] words = [0, 1, 2, 2, 2, 3, 4, 5];

        var windows = NlpTokenizer.PairWindows(words, firstCount: 1, extraTokens: 3, maxSequenceLength: 8, span: 1);

        // Room for 4 pieces: [0,4) would cut word 2, so [0,2); then from 1, [1,5); from 4 backed up to 2, [2,6); ...
        Assert.Equal([(0, 2), (1, 5), (2, 6), (5, 8)], windows);
        var tooLong = Assert.Throws<ArgumentException>(() => NlpTokenizer.PairWindows(words, 5, 3, 8, 1));
        Assert.Equal("Unable to do sequence pair tokenization: the first sequence [8 tokens] is longer than the max sequence length [8 tokens]", tooLong.Message);
        var span = Assert.Throws<ArgumentException>(() => NlpTokenizer.PairWindows(words, 1, 3, 8, 5));
        Assert.StartsWith("Unable to do sequence pair tokenization: the combined first sequence, span length and delimiting tokens [1 + 5 + 3 = 9 tokens]", span.Message);
    }

    [Fact]
    public void Question_answering_needs_a_question_and_valid_numbers()
    {
        var task = Task("""{"question_answering":{}}""");
        Assert.Equal(QuestionAnsweringProcessor.MissingQuestion, Refused(() => task.Prepare(["my car"])).Reason);
        var noQuestion = Refused(() => task.WithUpdate(Update("""{"question_answering":{"num_top_classes":2}}""")));
        Assert.Equal(("illegal_argument_exception", "[question] must not be null."), (noQuestion.Type, noQuestion.Reason));
        Assert.Equal("[num_top_classes] must be greater than or equal to [0]; provided [-1]",
            Refused(() => task.WithUpdate(Update("""{"question_answering":{"question":"q","num_top_classes":-1}}"""))).Reason);
        Assert.Equal("[max_answer_length] must be greater than [0]; provided [0]",
            Refused(() => task.WithUpdate(Update("""{"question_answering":{"question":"q","max_answer_length":0}}"""))).Reason);
        var unknown = Refused(() => task.WithUpdate(Update("""{"question_answering":{"question":"q","text":"t"}}""")));
        Assert.Equal("x_content_parse_exception", unknown.Type);
        Assert.StartsWith("[question_answering] unknown field [text]", unknown.Reason);
        var updated = task.WithUpdate(Update("""{"question_answering":{"question":"q","max_answer_length":3,"num_top_classes":4}}""")).Settings;
        Assert.Equal(("q", 3, 4), (updated.Question, updated.MaxAnswerLength, updated.NumTopClasses));
    }

    // --- text_expansion ---

    [Fact]
    public void Text_expansion_max_pools_the_rows_and_keeps_positive_weights_heaviest_first()
    {
        double[][] rows = [[0.5, 0, -1, 0.25], [0.1, 0.75, -2, 0.25]];

        var weights = TextExpansionProcessor.Weights(rows);

        Assert.Equal([(1, 0.75f), (0, 0.5f), (3, 0.25f)], weights);
        Assert.Equal(new Dictionary<int, string> { [1] = "a__b__" }, TextExpansionProcessor.SanitizedVocabulary(["ab", "a.b.", "c"]));
    }

    [Fact]
    public void Text_expansion_returns_tokens_with_weights_as_an_object()
    {
        var batch = Task("""{"text_expansion":{}}""").Prepare(["car"]);
        var vocabulary = 21;
        var data = new float[vocabulary];
        (data[7], data[6], data[0], data[3]) = (1.5f, 0.5f, -1f, 0f);

        var pooled = Assert.Single(batch.ToResults([Output(data, 1, vocabulary)]));
        Assert.Equal("""{"predicted_value":{"car":1.5,"red":0.5}}""", pooled.ToJsonString());

        // Per token [1, 3 tokens, vocabulary]: the largest weight of each entry over the tokens.
        var perToken = new float[3 * vocabulary];
        perToken[7] = 1f;
        perToken[vocabulary + 7] = 2f;
        perToken[(2 * vocabulary) + 4] = 0.25f;
        var result = Assert.Single(batch.ToResults([Output(perToken, 1, 3, vocabulary)]));
        Assert.Equal("""{"predicted_value":{"car":2,"my":0.25}}""", result.ToJsonString());

        var renamed = Task("""{"text_expansion":{}}""", """{"text_expansion":{"results_field":"tokens"}}""").Prepare(["car"]);
        Assert.Equal("""{"tokens":{"car":1.5,"red":0.5}}""", Assert.Single(renamed.ToResults([Output(data, 1, vocabulary)])).ToJsonString());
    }

    // --- text_similarity ---

    [Fact]
    public void Text_similarity_combines_window_scores_by_max_or_mean()
    {
        Assert.Equal(3.0, TextSimilarityProcessor.Combine([1.0, 3.0, 2.0], "max"));
        Assert.Equal(2.0, TextSimilarityProcessor.Combine([1.0, 3.0, 2.0], "mean"));
        Assert.Equal(-0.5, TextSimilarityProcessor.Combine([-0.5], "max"));
    }

    [Fact]
    public void Text_similarity_pairs_the_text_with_each_document_and_returns_its_score()
    {
        var task = Task("""{"text_similarity":{}}""", """{"text_similarity":{"text":"is fun"}}""");
        var batch = task.Prepare(["my car", "red"]);
        Assert.Equal([12, 2, 3, 13, 4, 7, 13], batch.Tokens.Sequences[0].TokenIds.ToArray());

        var results = batch.ToResults([Output([0.25f, -1.5f], 2, 1)]);

        Assert.Equal("""{"predicted_value":0.25}""", results[0].ToJsonString());
        Assert.Equal("""{"predicted_value":-1.5}""", results[1].ToJsonString());
    }

    [Fact]
    public void Text_similarity_of_a_windowed_document_uses_the_span_score_function()
    {
        const string config = """{"text_similarity":{"span_score_combination_function":"mean","tokenization":{"bert":{"max_sequence_length":8,"truncate":"none","span":1}}}}""";
        var task = Task(config, """{"text_similarity":{"text":"is"}}""");
        var batch = task.Prepare(["my little red car God day"]);
        Assert.Equal(2, batch.Tokens.BatchSize);

        Assert.Equal(1.5, Assert.Single(batch.ToResults([Output([1f, 2f], 2, 1)]))["predicted_value"]!.GetValue<double>());
        var max = Task(config, """{"text_similarity":{"text":"is","span_score_combination_function":"MAX"}}""").Prepare(["my little red car God day"]);
        Assert.Equal(2.0, Assert.Single(max.ToResults([Output([1f, 2f], 2, 1)]))["predicted_value"]!.GetValue<double>());
    }

    [Fact]
    public void Text_similarity_needs_a_text_and_a_known_span_score_function()
    {
        var task = Task("""{"text_similarity":{}}""");
        Assert.Equal(TextSimilarityProcessor.MissingText, Refused(() => task.Prepare(["my car"])).Reason);
        Assert.Equal("[text] must not be null.", Refused(() => task.WithUpdate(Update("""{"text_similarity":{"results_field":"x"}}"""))).Reason);
        var function = Refused(() => task.WithUpdate(Update("""{"text_similarity":{"text":"t","span_score_combination_function":"sum"}}""")));
        Assert.Equal(("illegal_argument_exception", "No enum constant org.elasticsearch.xpack.core.ml.inference.trainedmodel.TextSimilarityConfig.SpanScoreFunction.SUM"),
            (function.Type, function.Reason));
        var wide = task.WithUpdate(Update("""{"text_similarity":{"text":"is"}}""")).Prepare(["car"]);
        Assert.Equal(500, Refused(() => wide.ToResults([Output([1f, 2f], 1, 2)])).Status);
    }

    // --- zero_shot_classification ---

    private const string ZeroShot = """{"zero_shot_classification":{"classification_labels":["contradiction","neutral","entailment"],"labels":["car","day"]}}""";

    [Fact]
    public void Zero_shot_scores_are_a_softmax_over_entailment_or_per_label_against_contradiction()
    {
        double[][] logits = [[1, 0, 3], [2, 0, 1]];

        var single = ZeroShotClassificationProcessor.Scores(logits, entailment: 2, contradiction: 0, multiLabel: false);
        var multi = ZeroShotClassificationProcessor.Scores(logits, 2, 0, multiLabel: true);

        Assert.Equal(Softmax([3, 1], 0), single[0], 12);
        Assert.Equal(Softmax([3, 1], 1), single[1], 12);
        Assert.Equal(Softmax([3, 1], 0), multi[0], 12);
        Assert.Equal(Softmax([1, 2], 0), multi[1], 12);
    }

    [Fact]
    public void Zero_shot_hypotheses_put_the_label_at_the_templates_braces()
    {
        Assert.Equal("This example is car.", ZeroShotClassificationProcessor.Hypothesis("This example is {}.", "car"));
        Assert.Equal("About car and {}", ZeroShotClassificationProcessor.Hypothesis("About {} and {}", "car"));
        Assert.Equal("No braces", ZeroShotClassificationProcessor.Hypothesis("No braces", "car"));
        Assert.Equal("{} then car", ZeroShotClassificationProcessor.Hypothesis("\\{} then {}", "car"));
    }

    [Fact]
    public void Zero_shot_pairs_each_document_with_each_labels_hypothesis_and_lists_every_label()
    {
        var task = Task(ZeroShot, """{"zero_shot_classification":{"labels":["car","day","fun"]}}""");
        var batch = task.Prepare(["my red car", "God"]);
        Assert.Equal(6, batch.Tokens.BatchSize);
        Assert.Equal(["[CLS]", "my", "red", "car", "[SEP]", "[UNK]", "[UNK]", "is", "car", ".", "[SEP]"], batch.Tokens.Sequences[0].Tokens);

        // Rows per document: car, day, fun; logits in the order contradiction, neutral, entailment.
        float[] logits = [0, 0, 1, 0, 0, 3, 0, 0, 2, /* second document */ 0, 0, 0, 0, 0, 0, 0, 0, 0];
        var results = batch.ToResults([Output(logits, 6, 3)]);

        var first = results[0];
        Assert.Equal(["predicted_value", "top_classes", "prediction_probability"], first.Select(p => p.Key));
        Assert.Equal("day", first["predicted_value"]!.GetValue<string>());
        Assert.Equal(["day", "fun", "car"], first["top_classes"]!.AsArray().Select(c => c!["class_name"]!.GetValue<string>()));
        Assert.Equal(Softmax([1, 3, 2], 1), first["prediction_probability"]!.GetValue<double>(), 12);
        // Equal scores keep the labels' order.
        Assert.Equal(["car", "day", "fun"], results[1]["top_classes"]!.AsArray().Select(c => c!["class_name"]!.GetValue<string>()));
    }

    [Fact]
    public void Zero_shot_needs_labels_entailment_and_contradiction()
    {
        var noLabels = """{"zero_shot_classification":{"classification_labels":["contradiction","neutral","entailment"]}}""";
        Assert.Equal(ZeroShotClassificationProcessor.MissingLabels, Refused(() => Task(noLabels).Prepare(["car"])).Reason);
        Assert.Equal("stored configuration has no [labels] defined, supplied inference_config update must supply [labels]",
            Refused(() => Task(noLabels, """{"zero_shot_classification":{"multi_label":true}}""")).Reason);
        Assert.Equal("[labels] must not be empty", Refused(() => Task(ZeroShot, """{"zero_shot_classification":{"labels":[]}}""")).Reason);
        Assert.Equal("zero_shot_classification requires [entailment] and [contradiction] in classification_labels",
            Refused(() => Task("""{"zero_shot_classification":{"classification_labels":["entailment","neutral","neutral"],"labels":["a"]}}""")).Reason);
        Assert.StartsWith("[zero_shot_classification] unknown field [hypothesis_template]",
            Refused(() => Task(ZeroShot, """{"zero_shot_classification":{"hypothesis_template":"{}"}}""")).Reason);
        Assert.True(Task(ZeroShot, """{"zero_shot_classification":{"multi_label":"true"}}""").Settings.MultiLabel);
        Assert.Equal(500, Refused(() => Task(ZeroShot).Prepare(["car"]).ToResults([Output(new float[4], 2, 2)])).Status);
    }

    [Fact]
    public void An_update_for_another_task_is_refused()
    {
        var e = Refused(() => Task(ZeroShot, """{"question_answering":{"question":"q"}}"""));

        Assert.Equal(403, e.Status);
        Assert.Equal("Trained model [my-model] is configured for task [zero_shot_classification] but called with task [question_answering]", e.Reason);
    }
}
