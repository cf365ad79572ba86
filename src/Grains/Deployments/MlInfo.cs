using System.Globalization;
using System.Text.Json.Nodes;

namespace TrainedModelsOrleans.Grains.Deployments;

/// <summary>
/// <c>GET _ml/info</c> as TransportMlInfoAction (8.9) answers it. Computed from the live ML nodes: <c>limits</c>
/// (<c>total_ml_memory</c>, <c>effective_max_model_memory_limit</c>, <c>total_ml_processors</c>,
/// <c>max_single_ml_node_processors</c>) and the anomaly-detector <c>model_memory_limit</c> default (capped by the
/// effective limit). Fixed: every other default, <c>upgrade_mode</c> (we have no upgrade mode) and <c>native_code</c>
/// (our build). <c>max_model_memory_limit</c> is absent, as in ES when <c>xpack.ml.max_model_memory_limit</c> is unset.
/// </summary>
public static class MlInfo
{
    private const long Mb = 1024 * 1024;

    /// <summary>MachineLearning.NATIVE_EXECUTABLE_CODE_OVERHEAD.</summary>
    private const long NativeCodeOverhead = 30 * Mb;

    /// <summary>max(Job.PROCESS_MEMORY_OVERHEAD = 10mb, DataFrameAnalyticsConfig.PROCESS_MEMORY_OVERHEAD = 20mb).</summary>
    private const long ProcessOverhead = 20 * Mb;

    /// <summary>AnalysisLimits.DEFAULT_MODEL_MEMORY_LIMIT_MB.</summary>
    private const long DefaultModelMemoryLimit = 1024 * Mb;

    public static JsonObject Render(IReadOnlyList<NodeOffer> nodes, string nativeVersion, string buildHash)
    {
        var effective = EffectiveMaxModelMemoryLimit(nodes);
        var limits = new JsonObject();
        if (effective is { } limit) limits["effective_max_model_memory_limit"] = MbString(limit);
        limits["total_ml_memory"] = MbString(nodes.Sum(n => Math.Max(0, n.MemoryBytes)));
        var processors = nodes.Where(n => n.Processors > 0).Select(n => n.Processors).ToArray();
        // MlProcessors: both are left out when no ML node reports processors.
        if (processors.Length > 0)
        {
            limits["max_single_ml_node_processors"] = processors.Max();
            limits["total_ml_processors"] = processors.Sum();
        }

        return new JsonObject
        {
            ["defaults"] = new JsonObject
            {
                ["anomaly_detectors"] = new JsonObject
                {
                    ["categorization_analyzer"] = CategorizationAnalyzer(),
                    ["model_memory_limit"] = effective is { } cap && cap < DefaultModelMemoryLimit ? MbString(cap) : "1gb",
                    ["categorization_examples_limit"] = 4,
                    ["model_snapshot_retention_days"] = 10,
                    ["daily_model_snapshot_retention_after_days"] = 1,
                },
                ["datafeeds"] = new JsonObject { ["scroll_size"] = 1000 },
            },
            ["upgrade_mode"] = false,
            ["native_code"] = new JsonObject { ["version"] = nativeVersion, ["build_hash"] = buildHash },
            ["limits"] = limits,
        };
    }

    /// <summary>
    /// The largest node's ML memory less the process and native-code overheads, rounded down to whole megabytes;
    /// null with no ML node ("don't know", as ES says).
    /// </summary>
    public static long? EffectiveMaxModelMemoryLimit(IReadOnlyList<NodeOffer> nodes)
    {
        var largest = nodes.Count == 0 ? -1 : nodes.Max(n => n.MemoryBytes);
        if (largest <= 0) return null;
        return Math.Max(0, largest - ProcessOverhead - NativeCodeOverhead) / Mb * Mb;
    }

    /// <summary>ByteSizeValue.ofMb(bytes / 1mb).getStringRep(): <c>0</c> or <c>&lt;n&gt;mb</c>.</summary>
    private static string MbString(long bytes) =>
        bytes / Mb is var mb && mb <= 0 ? "0" : mb.ToString(CultureInfo.InvariantCulture) + "mb";

    /// <summary>CategorizationAnalyzerConfig.buildStandardCategorizationAnalyzer, as 8.9 renders it.</summary>
    private static JsonObject CategorizationAnalyzer()
    {
        string[] stopwords =
        [
            "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday",
            "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun",
            "January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December",
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
            "GMT", "UTC",
        ];
        return new JsonObject
        {
            ["char_filter"] = new JsonArray("first_line_with_letters"),
            ["tokenizer"] = "ml_standard",
            ["filter"] = new JsonArray(new JsonObject
            {
                ["type"] = "stop",
                ["stopwords"] = new JsonArray(stopwords.Select(w => (JsonNode?)w).ToArray()),
            }),
        };
    }
}
