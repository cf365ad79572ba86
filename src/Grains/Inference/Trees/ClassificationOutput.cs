using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Models.Parsing;

namespace TrainedModelsOrleans.Grains.Inference.Trees;

/// <summary>
/// ES's classification result (InferenceHelpers.topClasses, ClassificationInferenceResults): the
/// winning class, the top classes, and the winner's probability and score.
/// </summary>
internal static class ClassificationOutput
{
    /// <summary>
    /// Scores are the probabilities times the classification weights (or the probabilities). Classes
    /// are ranked by score, highest first; equal scores keep class order (a stable sort, as ES's).
    /// <c>num_top_classes</c> 0 writes no top classes, a negative number writes all of them.
    /// </summary>
    public static JsonObject Build(double[] probabilities, IReadOnlyList<string>? labels, double[]? classificationWeights, TreeInferenceSettings settings)
    {
        if (labels is not null && probabilities.Length != labels.Count)
            throw ServerError($"model returned classification probabilities of size [{probabilities.Length}] which is not equal to classification labels size [{labels.Count}]");

        var scores = probabilities;
        if (classificationWeights is not null)
        {
            if (classificationWeights.Length < probabilities.Length)
                throw new ElasticsearchException(500, "array_index_out_of_bounds_exception",
                    $"Index {classificationWeights.Length} out of bounds for length {classificationWeights.Length}");
            scores = new double[probabilities.Length];
            for (var i = 0; i < scores.Length; i++) scores[i] = probabilities[i] * classificationWeights[i];
        }

        var ranked = new int[scores.Length];
        for (var i = 0; i < ranked.Length; i++) ranked[i] = i;
        Array.Sort(ranked, (a, b) =>
        {
            var byScore = JavaCompare(scores[b], scores[a]);
            return byScore != 0 ? byScore : a.CompareTo(b);
        });

        var top = ranked[0];
        var topLabel = Label(top, labels);
        var result = new JsonObject
        {
            [settings.ResultsField] = PredictionFieldTypes.Transform(settings.PredictionFieldType, top, topLabel),
        };

        var count = settings.NumTopClasses < 0 ? probabilities.Length : Math.Min(settings.NumTopClasses, probabilities.Length);
        if (count > 0)
        {
            var topClasses = new JsonArray();
            for (var i = 0; i < count; i++)
            {
                var index = ranked[i];
                topClasses.Add(new JsonObject
                {
                    ["class_name"] = PredictionFieldTypes.Transform(settings.PredictionFieldType, index, labels?[index] ?? IndexLabel(index)),
                    ["class_probability"] = JavaValues.Number(probabilities[index]),
                    ["class_score"] = JavaValues.Number(scores[index]),
                });
            }
            result[settings.TopClassesResultsField] = topClasses;
        }

        result["prediction_probability"] = JavaValues.Number(probabilities[top]);
        result["prediction_score"] = JavaValues.Number(scores[top]);
        return result;
    }

    /// <summary>InferenceHelpers.classificationLabel: the label at the index, or the index itself without labels.</summary>
    private static string Label(int index, IReadOnlyList<string>? labels)
    {
        if (labels is null) return IndexLabel(index);
        if (index < 0 || index >= labels.Count)
            throw ServerError($"model returned classification value of [{index}] which is not a valid index in classification labels [{EsErrors.JavaList(labels)}]");
        return labels[index];
    }

    private static string IndexLabel(int index) => index.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Java's Double.compare: −0.0 below 0.0, NaN above everything.</summary>
    private static int JavaCompare(double a, double b)
    {
        if (a < b) return -1;
        if (a > b) return 1;
        var aBits = JavaBits(a);
        var bBits = JavaBits(b);
        return aBits == bBits ? 0 : aBits < bBits ? -1 : 1;
    }

    /// <summary>Double.doubleToLongBits: every NaN is the canonical 0x7ff8000000000000.</summary>
    private static long JavaBits(double d) => double.IsNaN(d) ? 0x7ff8000000000000L : BitConverter.DoubleToInt64Bits(d);

    /// <summary>ExceptionsHelper.serverError: a 500 status_exception.</summary>
    private static ElasticsearchException ServerError(string reason) => EsErrors.Status(500, reason);
}
