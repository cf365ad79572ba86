using System.Text;
using TrainedModelsOrleans.Grains.Models.Parsing;

namespace TrainedModelsOrleans.Grains.Deployments;

/// <summary>
/// <c>POST _ml/trained_models/&lt;deployment_id&gt;/deployment/_update</c>, read as
/// RestUpdateTrainedModelDeploymentAction and UpdateTrainedModelDeploymentAction.Request do: a body is
/// required unless the query gives <c>number_of_allocations</c>; <c>number_of_allocations</c>, <c>adaptive_allocations</c>
/// (null resets it) and <c>timeout</c>; the <c>number_of_allocations</c> (over the body's), <c>timeout</c> and
/// <c>master_timeout</c> query parameters.
/// </summary>
public sealed class UpdateDeploymentSettings
{
    public const string ParserName = "cluster:admin/xpack/ml/trained_models/deployment/update";

    /// <summary>AcknowledgedRequest.DEFAULT_ACK_TIMEOUT.</summary>
    public static readonly TimeValue DefaultTimeout = TimeValue.FromSeconds(30);

    public required string DeploymentId { get; init; }

    /// <summary>Null when not given (then only the adaptive settings may change).</summary>
    public int? NumberOfAllocations { get; init; }

    /// <summary>The adaptive settings given; null when not given or when given as null (see <see cref="ResetAdaptiveAllocations"/>).</summary>
    public AdaptiveAllocationsSettings? AdaptiveAllocations { get; init; }

    /// <summary><c>"adaptive_allocations": null</c> was given: the deployment's adaptive settings are removed.</summary>
    public bool ResetAdaptiveAllocations { get; init; }

    public TimeValue Timeout { get; init; } = DefaultTimeout;
    public TimeValue? MasterTimeout { get; init; }
    public IReadOnlyList<string> Warnings { get; init; } = [];

    public static UpdateDeploymentSettings Parse(string deploymentId, IReadOnlyDictionary<string, string?> query, string body) =>
        Parse(deploymentId, query, Encoding.UTF8.GetBytes(body));

    /// <summary>
    /// Throws: no body → 400 <c>parse_exception</c> "request body is required"; body errors → 400
    /// <c>x_content_parse_exception</c>; a body <c>model_id</c> that differs from the path → 400 <c>status_exception</c>
    /// "Inconsistent model_id; …"; bad query times → 400 <c>illegal_argument_exception</c>; then the request's
    /// rules in one 400 <c>action_request_validation_exception</c>.
    /// </summary>
    public static UpdateDeploymentSettings Parse(string deploymentId, IReadOnlyDictionary<string, string?> query, ReadOnlySpan<byte> body)
    {
        string? bodyId = null;
        // The REST spec lists number_of_allocations as a query parameter too: it wins over the body's, and with it the body may be left out.
        var queryAllocations = RestParameters.Int(query, "number_of_allocations");
        int? allocations = null;
        AdaptiveAllocationsSettings? adaptive = null;
        var reset = false;
        var timeout = DefaultTimeout;
        var warnings = new List<string>();
        if (queryAllocations is null || !RestParameters.IsBlank(body))
        {
            var json = JsonBody.Parse(body);
            new ObjectParser(ParserName)
                .Declare("model_id", Accepts.String, v => bodyId = Values.String(v))
                .Declare("number_of_allocations", Accepts.Int, v => allocations = Values.Int(v))
                .Declare("model_threads", Accepts.Int, v =>
                {
                    allocations = Values.Int(v);
                    warnings.Add(StartDeploymentSettings.DeprecatedField("model_threads", "number_of_allocations"));
                })
                .Declare("adaptive_allocations", Accepts.Object | Accepts.NullToken, v =>
                {
                    reset = v.Kind == JsonKind.Null;
                    adaptive = reset ? null : AdaptiveAllocationsSettings.Parse(json, v);
                })
                .Declare("timeout", Accepts.String, v => timeout = TimeValue.Parse(Values.String(v), "timeout"))
                .Parse(json, json.Root);
        }

        if (bodyId is not null && !string.IsNullOrEmpty(deploymentId) && bodyId != deploymentId)
            throw EsErrors.BadRequest(
                $"Inconsistent model_id; '{bodyId}' specified in the body differs from '{deploymentId}' specified as a URL argument");

        return Validated(new UpdateDeploymentSettings
        {
            DeploymentId = bodyId ?? deploymentId,
            NumberOfAllocations = queryAllocations ?? allocations,
            AdaptiveAllocations = adaptive,
            ResetAdaptiveAllocations = reset,
            Timeout = RestParameters.Time(query, "timeout") ?? timeout,
            MasterTimeout = RestParameters.Time(query, "master_timeout"),
            Warnings = warnings,
        });
    }

    /// <summary>UpdateTrainedModelDeploymentAction.Request.validate(), in ES's order.</summary>
    public UpdateDeploymentRequest ToRequest() => new()
    {
        DeploymentId = DeploymentId,
        NumberOfAllocations = NumberOfAllocations,
        AdaptiveAllocations = AdaptiveAllocations?.ToContract(),
        ResetAdaptiveAllocations = ResetAdaptiveAllocations,
        Timeout = Timeout.StringRep,
        Warnings = Warnings,
    };

    /// <summary>A typed request, however it came, read and validated as the REST form is.</summary>
    public static UpdateDeploymentSettings From(UpdateDeploymentRequest request)
    {
        return Validated(new UpdateDeploymentSettings
        {
            DeploymentId = request.DeploymentId,
            NumberOfAllocations = request.NumberOfAllocations,
            AdaptiveAllocations = AdaptiveAllocationsSettings.From(request.AdaptiveAllocations),
            ResetAdaptiveAllocations = request.ResetAdaptiveAllocations,
            Timeout = TimeValue.Parse(request.Timeout, "timeout"),
            Warnings = request.Warnings,
        });
    }

    /// <summary>The settings, when no rule is broken; else every broken rule in one 400 <c>action_request_validation_exception</c>.</summary>
    private static UpdateDeploymentSettings Validated(UpdateDeploymentSettings settings)
    {
        var errors = settings.ValidationErrors();
        if (errors.Count > 0) throw EsErrors.Validation([.. errors]);
        return settings;
    }

    public IReadOnlyList<string> ValidationErrors()
    {
        var errors = new List<string>();
        errors.AddRange(AdaptiveAllocationsSettings.NumberOfAllocationsErrors(NumberOfAllocations, AdaptiveAllocations));
        if (AdaptiveAllocations is not null) errors.AddRange(AdaptiveAllocations.ValidationErrors());
        return errors;
    }
}
