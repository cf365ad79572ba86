using System.Text.Json.Nodes;

namespace TrainedModelsOrleans.Grains.Inference.Nlp;

/// <summary>Softmax and ordering as ES's NlpHelpers compute them.</summary>
internal static class NlpMath
{
    /// <summary>convertToProbabilitiesBySoftMax: exp(x - max) / sum.</summary>
    public static double[] SoftMax(double[] scores)
    {
        var probabilities = new double[scores.Length];
        if (scores.Length == 0) return probabilities;
        var max = scores.Max();
        var sum = 0.0;
        for (var i = 0; i < scores.Length; i++)
        {
            probabilities[i] = Math.Exp(scores[i] - max);
            sum += probabilities[i];
        }
        for (var i = 0; i < scores.Length; i++) probabilities[i] /= sum;
        return probabilities;
    }

    /// <summary>The first index of the highest value.</summary>
    public static int ArgMax(double[] values)
    {
        var best = 0;
        for (var i = 1; i < values.Length; i++)
        {
            if (values[i] > values[best]) best = i;
        }
        return best;
    }

    /// <summary>Indices by descending value; equal values keep index order (Java's stable sort).</summary>
    public static int[] Descending(double[] values) => TopK(values, values.Length);

    /// <summary>The indices of the <paramref name="k"/> highest values, highest first, equal values in index order.</summary>
    public static int[] TopK(double[] values, int k)
    {
        k = Math.Clamp(k, 0, values.Length);
        if (k > 16) return Enumerable.Range(0, values.Length).OrderByDescending(i => values[i]).Take(k).ToArray();

        // Few wanted from many (fill_mask over a vocabulary): keep a small sorted list.
        var top = new int[k];
        var count = 0;
        for (var i = 0; i < values.Length && k > 0; i++)
        {
            var v = values[i];
            if (count == k && !(v > values[top[k - 1]])) continue;
            var at = Math.Min(count, k - 1);
            while (at > 0 && v > values[top[at - 1]])
            {
                top[at] = top[at - 1];
                at--;
            }
            top[at] = i;
            if (count < k) count++;
        }
        return top;
    }

    public static JsonArray Array(double[] values)
    {
        var nodes = new JsonNode?[values.Length];
        for (var i = 0; i < values.Length; i++) nodes[i] = JsonValue.Create(values[i]);
        return new JsonArray(nodes);
    }

    /// <summary>A top-classes entry (TopClassEntry): class_name, class_probability, class_score.</summary>
    public static JsonObject TopClass(string name, double probability) => new()
    {
        ["class_name"] = name,
        ["class_probability"] = probability,
        ["class_score"] = probability,
    };
}
