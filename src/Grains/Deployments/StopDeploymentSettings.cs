using System.Text;
using TrainedModelsOrleans.Grains.Models.Parsing;

namespace TrainedModelsOrleans.Grains.Deployments;

/// <summary>
/// <c>POST _ml/trained_models/&lt;deployment_id&gt;/deployment/_stop</c>: StopTrainedModelDeploymentAction.Request
/// (<c>allow_no_match</c> default true, <c>force</c>, <c>finish_pending_work</c>), from the body and the query.
/// The id is matched exactly (ES 8.8+).
/// </summary>
public sealed class StopDeploymentSettings
{
    public const string ParserName = "cluster:admin/xpack/ml/trained_models/deployment/stop";

    public required string DeploymentId { get; init; }
    public bool AllowNoMatch { get; init; } = true;
    public bool Force { get; init; }
    public bool FinishPendingWork { get; init; }

    public StopDeploymentRequest ToRequest() =>
        new() { DeploymentId = DeploymentId, AllowNoMatch = AllowNoMatch, Force = Force, FinishPendingWork = FinishPendingWork };

    public static StopDeploymentSettings From(StopDeploymentRequest request) =>
        new() { DeploymentId = request.DeploymentId, AllowNoMatch = request.AllowNoMatch, Force = request.Force, FinishPendingWork = request.FinishPendingWork };

    public static StopDeploymentSettings Parse(string deploymentId, IReadOnlyDictionary<string, string?> query, string body) =>
        Parse(deploymentId, query, Encoding.UTF8.GetBytes(body));

    /// <summary>
    /// Throws: body errors → 400 <c>x_content_parse_exception</c>; a body <c>model_id</c> that differs from the
    /// path → 400 <c>illegal_argument_exception</c> "Inconsistent model_id; …" (ES uses IllegalArgumentException
    /// here, unlike start); a query boolean that is not true/false → 400 <c>illegal_argument_exception</c>.
    /// </summary>
    public static StopDeploymentSettings Parse(string deploymentId, IReadOnlyDictionary<string, string?> query, ReadOnlySpan<byte> body)
    {
        string? bodyId = null;
        bool allowNoMatch = true, force = false, finishPendingWork = false;
        if (!RestParameters.IsBlank(body))
        {
            var json = JsonBody.Parse(body);
            new ObjectParser(ParserName)
                .Declare("model_id", Accepts.String, v => bodyId = Values.String(v))
                .Declare("allow_no_match", Accepts.Boolean, v => allowNoMatch = Values.Boolean(v))
                .Declare("force", Accepts.Boolean, v => force = Values.Boolean(v))
                .Declare("finish_pending_work", Accepts.Boolean, v => finishPendingWork = Values.Boolean(v))
                .Parse(json, json.Root);
            if (bodyId is not null && !string.IsNullOrEmpty(deploymentId) && bodyId != deploymentId)
                throw EsErrors.IllegalArgument(
                    $"Inconsistent model_id; '{bodyId}' specified in the body differs from '{deploymentId}' specified as a URL argument");
        }

        // ES reads the query only when there is no body; here a query value given with a body overrides it.
        return new StopDeploymentSettings
        {
            DeploymentId = bodyId ?? deploymentId,
            AllowNoMatch = RestParameters.Bool(query, "allow_no_match") ?? allowNoMatch,
            Force = RestParameters.Bool(query, "force") ?? force,
            FinishPendingWork = RestParameters.Bool(query, "finish_pending_work") ?? finishPendingWork,
        };
    }

}
