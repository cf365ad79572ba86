using System.Text.Json.Nodes;
using TrainedModelsOrleans.Inference.Text;

namespace TrainedModelsOrleans.Grains.Inference.Nlp;

/// <summary>One document of a batch as the result processors see it: its text, its token rows (windows) and its model output.</summary>
internal sealed record NlpDocument(string Input, IReadOnlyList<TokenizedSequence> Rows, DocumentInference Inference)
{
    public bool IsTruncated => Rows.Any(r => r.Truncated);

    /// <summary>ES's NlpInferenceResults: <c>is_truncated</c> appears only when true, after the task's fields.</summary>
    public JsonObject Finish(JsonObject result)
    {
        if (IsTruncated) result["is_truncated"] = true;
        return result;
    }
}
