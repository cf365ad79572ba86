using System.Text.Json;
using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Models;
using TrainedModelsOrleans.Grains.Models.Parsing;

namespace TrainedModelsOrleans.Grains.Inference.Trees;

/// <summary>
/// The effective regression or classification config of one inference (ES's RegressionConfig /
/// ClassificationConfig): the model's stored config with the request's update applied.
/// </summary>
internal sealed record TreeInferenceSettings(
    string TaskType,
    string ResultsField,
    int NumTopClasses,
    string TopClassesResultsField,
    int NumTopFeatureImportanceValues,
    string PredictionFieldType)
{
    public bool IsClassification => TaskType == InferenceTaskType.Classification;

    /// <summary>Reads the stored <c>inference_config</c> (<c>{"regression":{…}}</c> or <c>{"classification":{…}}</c>), defaults filled in.</summary>
    public static TreeInferenceSettings FromStored(string modelId, JsonObject inferenceConfig)
    {
        if (inferenceConfig.Count != 1)
            throw EsErrors.BadRequest($"Model [{modelId}] has no valid inference config for a tree model");
        var (name, node) = inferenceConfig.First();
        if (name is not (InferenceTaskType.Regression or InferenceTaskType.Classification))
            throw EsErrors.BadRequest($"Model [{modelId}] has inference config of type [{name}] which is not supported by tree models; expected [regression] or [classification]");
        var settings = node as JsonObject ?? [];
        return new TreeInferenceSettings(
            name,
            String(settings, "results_field") ?? InferenceConfigParser.DefaultResultsField,
            Int(settings, "num_top_classes") ?? 0,
            String(settings, "top_classes_results_field") ?? InferenceConfigParser.DefaultTopClassesResultsField,
            Int(settings, "num_top_feature_importance_values") ?? 0,
            String(settings, "prediction_field_type") ?? "string");
    }

    private static string? String(JsonObject o, string key) =>
        o.TryGetPropertyValue(key, out var v) && v is JsonValue value && value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : null;

    private static int? Int(JsonObject o, string key) =>
        o.TryGetPropertyValue(key, out var v) && v is JsonValue value && value.GetValueKind() == JsonValueKind.Number ? (int)JavaValues.ToDouble(value) : null;
}

/// <summary>
/// A request's <c>inference_config</c> (ES's InferenceConfigUpdate named objects). <c>regression</c> and
/// <c>classification</c> are parsed strictly as ES's RegressionConfigUpdate / ClassificationConfigUpdate;
/// the NLP task names are recognised only so that a tree model can refuse them with ES's message.
/// </summary>
internal sealed record InferenceConfigUpdate(
    string Name,
    string? ResultsField = null,
    int? NumTopClasses = null,
    string? TopClassesResultsField = null,
    int? NumTopFeatureImportanceValues = null,
    string? PredictionFieldType = null)
{
    /// <summary>Fields no result may be written to (InferenceConfigUpdate.RESERVED_ML_FIELD_NAMES).</summary>
    private static readonly string[] ReservedFieldNames = ["warning", "model_id"];

    /// <summary>update.isSupported(config): a regression update for a regression config, a classification update for a classification config.</summary>
    public bool IsSupportedBy(TreeInferenceSettings settings) => Name == settings.TaskType;

    /// <summary>update.apply(config), for a supported update.</summary>
    public TreeInferenceSettings ApplyTo(TreeInferenceSettings settings) => settings with
    {
        ResultsField = ResultsField ?? settings.ResultsField,
        NumTopClasses = NumTopClasses ?? settings.NumTopClasses,
        TopClassesResultsField = TopClassesResultsField ?? settings.TopClassesResultsField,
        NumTopFeatureImportanceValues = NumTopFeatureImportanceValues ?? settings.NumTopFeatureImportanceValues,
        PredictionFieldType = PredictionFieldType ?? settings.PredictionFieldType,
    };

    /// <summary>
    /// Parses <c>{"&lt;name&gt;": {…}}</c>. Errors are ES's (<c>[regression] unknown field [x]</c>,
    /// <c>failed to parse field</c>, field uniqueness); their <c>[line:col]</c> prefixes are
    /// positions within the update object, not within the whole request body.
    /// </summary>
    public static InferenceConfigUpdate Parse(JsonObject update)
    {
        var body = JsonBody.Parse(update.ToJsonString());
        var parsers = new Dictionary<string, Func<JsonItem, InferenceConfigUpdate>>
        {
            [InferenceTaskType.Regression] = v => Regression(body, v),
            [InferenceTaskType.Classification] = v => Classification(body, v),
        };
        foreach (var nlp in InferenceTaskType.Nlp)
            parsers[nlp] = v => v.Kind == JsonKind.Object
                ? new InferenceConfigUpdate(nlp)
                : throw EsErrors.XContentParse($"{body.Location(v.Start)} [{nlp}] Expected START_OBJECT but was: {v.TokenName}");
        return NamedObjects.ParseOne(body, body.Root, "inference_config", parsers);
    }

    private static InferenceConfigUpdate Regression(JsonBody body, JsonItem v)
    {
        string? resultsField = null;
        int? importance = null;
        new ObjectParser(InferenceTaskType.Regression)
            .Declare("results_field", Accepts.String, x => resultsField = Values.String(x))
            .Declare("num_top_feature_importance_values", Accepts.Int, x => importance = Values.Int(x))
            .Parse(body, v);
        CheckImportance(importance);
        CheckFieldUniqueness(resultsField);
        return new InferenceConfigUpdate(InferenceTaskType.Regression, resultsField, NumTopFeatureImportanceValues: importance);
    }

    private static InferenceConfigUpdate Classification(JsonBody body, JsonItem v)
    {
        int? topClasses = null, importance = null;
        string? resultsField = null, topClassesField = null, fieldType = null;
        new ObjectParser(InferenceTaskType.Classification)
            .Declare("num_top_classes", Accepts.Int, x => topClasses = Values.Int(x))
            .Declare("results_field", Accepts.String, x => resultsField = Values.String(x))
            .Declare("top_classes_results_field", Accepts.String, x => topClassesField = Values.String(x))
            .Declare("num_top_feature_importance_values", Accepts.Int, x => importance = Values.Int(x))
            .Declare("prediction_field_type", Accepts.String, x => fieldType = PredictionFieldTypes.Parse(Values.String(x)))
            .Parse(body, v);
        CheckImportance(importance);
        CheckFieldUniqueness(resultsField, topClassesField);
        return new InferenceConfigUpdate(InferenceTaskType.Classification, resultsField, topClasses, topClassesField, importance, fieldType);
    }

    private static void CheckImportance(int? importance)
    {
        if (importance < 0)
            throw EsErrors.IllegalArgument("[num_top_feature_importance_values] must be greater than or equal to 0");
    }

    /// <summary>InferenceConfigUpdate.checkFieldUniqueness.</summary>
    private static void CheckFieldUniqueness(params string?[] fieldNames)
    {
        var seen = new HashSet<string>(ReservedFieldNames, StringComparer.Ordinal);
        var duplicated = new List<string>();
        foreach (var name in fieldNames)
        {
            if (name is null) continue;
            if (!seen.Add(name) && !duplicated.Contains(name)) duplicated.Add(name);
        }
        if (duplicated.Count > 0)
            throw EsErrors.BadRequest($"Invalid inference config. More than one field is configured as {EsErrors.JavaList(duplicated)}");
    }
}

/// <summary>ES's PredictionFieldType: how class values are written (<c>string</c>, <c>number</c>, <c>boolean</c>).</summary>
internal static class PredictionFieldTypes
{
    public const string String = "string";
    public const string Number = "number";
    public const string Boolean = "boolean";

    /// <summary>PredictionFieldType.fromString: <c>valueOf(name.trim().toUpperCase())</c>.</summary>
    public static string Parse(string value)
    {
        var upper = value.Trim().ToUpperInvariant();
        return upper switch
        {
            "STRING" => String,
            "NUMBER" => Number,
            "BOOLEAN" => Boolean,
            _ => throw EsErrors.IllegalArgument($"No enum constant org.elasticsearch.xpack.core.ml.inference.trainedmodel.PredictionFieldType.{upper}"),
        };
    }

    /// <summary>
    /// PredictionFieldType.transformPredictedValue: the label as given (<c>string</c>), as a long when it
    /// reads as one else the class index (<c>number</c>), or as true/false (<c>boolean</c>).
    /// </summary>
    public static JsonNode Transform(string fieldType, double value, string label)
    {
        switch (fieldType)
        {
            case Number:
                if (LooksNumeric(label) && long.TryParse(label, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var l))
                    return JavaValues.Number(l);
                return JavaValues.Number(value);
            case Boolean:
                if (LooksNumeric(label))
                {
                    if (int.TryParse(label, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var i))
                        return JsonValue.Create(i == 1);
                }
                else if (label.Length > 0 && label[0] is 't' or 'T' or 'f' or 'F')
                {
                    return JsonValue.Create(label.Equals("true", StringComparison.OrdinalIgnoreCase));
                }
                return JsonValue.Create(FromDouble(value));
            default:
                return JsonValue.Create(label);
        }
    }

    private static bool LooksNumeric(string label) => label.Length > 0 && (label[0] == '-' || char.IsDigit(label[0]));

    private static bool FromDouble(double value)
    {
        const double eps = 1.0E-9;
        var one = Math.Abs(value - 1.0) < eps;
        if (!one && !(Math.Abs(value) < eps))
            throw EsErrors.IllegalArgument($"Cannot transform numbers other than 0.0 or 1.0 to boolean. Provided number [{JavaValues.DoubleToString(value)}]");
        return one;
    }
}
