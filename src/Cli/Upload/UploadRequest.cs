using System.Text.Json.Nodes;
using TrainedModelsOrleans.Cli.Service;

namespace TrainedModelsOrleans.Cli.Upload;

/// <summary>Everything one <c>upload</c> does: the model, how to cut it, and what follows the definition.</summary>
public sealed record UploadRequest
{
    public required string ModelId { get; init; }
    public required string ModelFile { get; init; }
    public required JsonObject Config { get; init; }
    public JsonObject? Vocabulary { get; init; }
    public int PartSize { get; init; } = PartPlan.DefaultPartSize;
    public bool ClearPrevious { get; init; }

    /// <summary>Start a deployment once the model is complete; null to leave it stopped.</summary>
    public DeploymentSettings? Start { get; init; }
}
