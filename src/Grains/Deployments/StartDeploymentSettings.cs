using TrainedModelsOrleans.Grains.Models;
using System.Text;
using TrainedModelsOrleans.Grains.Models.Parsing;

namespace TrainedModelsOrleans.Grains.Deployments;

/// <summary>
/// <c>POST _ml/trained_models/&lt;model_id&gt;/deployment/_start</c>, read as RestStartTrainedModelDeploymentAction
/// reads it (body first, then query values override it) and validated as
/// StartTrainedModelDeploymentAction.Request.validate() does, with ES's texts and order.
/// </summary>
public sealed class StartDeploymentSettings
{
    /// <summary>The body parser's name in ES's messages (the action name).</summary>
    public const string ParserName = "cluster:admin/xpack/ml/trained_models/deployment/start";

    public const int DefaultNumberOfAllocations = 1;
    public const int DefaultThreadsPerAllocation = 1;

    /// <summary>Our documented default (ES 8.8; later versions use 10000).</summary>
    public const int DefaultQueueCapacity = 1024;

    /// <summary>Our documented maximum; a value equal to it is accepted (ES checks with <c>&gt;</c>).</summary>
    public const int MaxQueueCapacity = 1_000_000;

    public const int MaxThreadsPerAllocation = 32;

    public static readonly TimeValue DefaultTimeout = TimeValue.FromSeconds(30);

    public required string ModelId { get; init; }

    /// <summary>The <c>deployment_id</c> query parameter, else the model id.</summary>
    public required string DeploymentId { get; init; }

    /// <summary>As given (null when not given); see <see cref="EffectiveNumberOfAllocations"/>.</summary>
    public int? NumberOfAllocations { get; init; }

    public int ThreadsPerAllocation { get; init; } = DefaultThreadsPerAllocation;
    public int QueueCapacity { get; init; } = DefaultQueueCapacity;

    /// <summary>As given; null when not given (the task parameters then use the model's size).</summary>
    public ByteSize? CacheSize { get; init; }

    public Priority Priority { get; init; } = Priority.Normal;
    public TimeValue Timeout { get; init; } = DefaultTimeout;
    public AllocationState WaitFor { get; init; } = AllocationState.Started;

    /// <summary>[new] Body only; validated, stored in the assignment and acted upon by the scaler.</summary>
    public AdaptiveAllocationsSettings? AdaptiveAllocations { get; init; }

    /// <summary>Deprecation warnings for the response's <c>Warning</c> header (legacy parameter names).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>
    /// computeNumberOfAllocations: the given count, else adaptive allocations' minimum when above 0, else 1.
    /// </summary>
    public int EffectiveNumberOfAllocations =>
        NumberOfAllocations ?? (AdaptiveAllocations?.MinNumberOfAllocations is int min && min > 0 ? min : DefaultNumberOfAllocations);

    public static StartDeploymentSettings Parse(string modelIdFromPath, IReadOnlyDictionary<string, string?> query, string body) =>
        Parse(modelIdFromPath, query, Encoding.UTF8.GetBytes(body));

    /// <summary>
    /// Reads and validates the request. Throws, in ES's order: body errors (400 <c>x_content_parse_exception</c>,
    /// unknown fields, wrong value types, bad time/size values as their cause); a body <c>model_id</c> that differs
    /// from the path (400 <c>status_exception</c> "Inconsistent model_id; …"); bad query values (400
    /// <c>illegal_argument_exception</c> / <c>parse_exception</c>); then every broken rule in one 400
    /// <c>action_request_validation_exception</c> ("Validation Failed: 1: …;2: …;").
    /// </summary>
    public static StartDeploymentSettings Parse(string modelIdFromPath, IReadOnlyDictionary<string, string?> query, ReadOnlySpan<byte> body)
    {
        var f = new Fields();
        var warnings = new List<string>();
        if (!RestParameters.IsBlank(body))
        {
            var json = JsonBody.Parse(body);
            BuildParser(json, f, warnings).Parse(json, json.Root);
            if (f.ModelId is not null && !string.IsNullOrEmpty(modelIdFromPath) && f.ModelId != modelIdFromPath)
                throw EsErrors.BadRequest(
                    $"Inconsistent model_id; '{f.ModelId}' specified in the body differs from '{modelIdFromPath}' specified as a URL argument");
        }
        var modelId = f.ModelId ?? modelIdFromPath;

        // ES: the deployment_id query parameter (default: the model id) always replaces the body's.
        var deploymentId = RestParameters.String(query, "deployment_id") is { Length: > 0 } fromQuery ? fromQuery : modelIdFromPath;

        if (RestParameters.Time(query, "timeout") is { } timeout) f.Timeout = timeout;
        if (RestParameters.String(query, "wait_for") is { } waitFor) f.WaitFor = EsNames.ParseWaitFor(waitFor);
        f.NumberOfAllocations = LegacyOrCurrentInt(query, "model_threads", "number_of_allocations", warnings) ?? f.NumberOfAllocations;
        f.ThreadsPerAllocation = LegacyOrCurrentInt(query, "inference_threads", "threads_per_allocation", warnings) ?? f.ThreadsPerAllocation;
        f.QueueCapacity = RestParameters.Int(query, "queue_capacity") ?? f.QueueCapacity;
        if (RestParameters.String(query, "cache_size") is { } cacheSize) f.CacheSize = ByteSize.Parse(cacheSize, "cache_size");
        if (RestParameters.String(query, "priority") is { } priority) f.Priority = EsNames.ParsePriority(priority);

        return Validated(new StartDeploymentSettings
        {
            ModelId = modelId,
            DeploymentId = deploymentId,
            NumberOfAllocations = f.NumberOfAllocations,
            ThreadsPerAllocation = f.ThreadsPerAllocation,
            QueueCapacity = f.QueueCapacity,
            CacheSize = f.CacheSize,
            Priority = f.Priority,
            Timeout = f.Timeout,
            WaitFor = f.WaitFor,
            AdaptiveAllocations = f.Adaptive,
            Warnings = warnings,
        });
    }

    /// <summary>The typed request the grain receives (what the HTTP layer read).</summary>
    public StartDeploymentRequest ToRequest() => new()
    {
        ModelId = ModelId,
        DeploymentId = DeploymentId,
        NumberOfAllocations = NumberOfAllocations,
        ThreadsPerAllocation = ThreadsPerAllocation,
        QueueCapacity = QueueCapacity,
        CacheSize = CacheSize?.StringRep,
        Priority = Priority,
        Timeout = Timeout.StringRep,
        WaitFor = WaitFor,
        AdaptiveAllocations = AdaptiveAllocations?.ToContract(),
        Warnings = Warnings,
    };

    /// <summary>
    /// A typed request, however it came (the HTTP layer or an SDK caller), read with ES's value rules (a bad
    /// <c>cache_size</c> or <c>timeout</c> is a 400 naming the field) and validated as <see cref="Parse(string, IReadOnlyDictionary{string, string?}, ReadOnlySpan{byte})"/> validates.
    /// </summary>
    public static StartDeploymentSettings From(StartDeploymentRequest request)
    {
        return Validated(new StartDeploymentSettings
        {
            ModelId = request.ModelId,
            DeploymentId = string.IsNullOrEmpty(request.DeploymentId) ? request.ModelId : request.DeploymentId,
            NumberOfAllocations = request.NumberOfAllocations,
            ThreadsPerAllocation = request.ThreadsPerAllocation,
            QueueCapacity = request.QueueCapacity,
            CacheSize = request.CacheSize is { } size ? ByteSize.Parse(size, "cache_size") : null,
            Priority = request.Priority,
            Timeout = TimeValue.Parse(request.Timeout, "timeout"),
            WaitFor = request.WaitFor,
            AdaptiveAllocations = AdaptiveAllocationsSettings.From(request.AdaptiveAllocations),
            Warnings = request.Warnings,
        });
    }

    /// <summary>StartTrainedModelDeploymentAction.Request.validate(), in ES's order.</summary>
    /// <summary>The settings, when no rule is broken; else every broken rule in one 400 <c>action_request_validation_exception</c>.</summary>
    private static StartDeploymentSettings Validated(StartDeploymentSettings settings)
    {
        var errors = settings.ValidationErrors();
        if (errors.Count > 0) throw EsErrors.Validation([.. errors]);
        return settings;
    }

    public IReadOnlyList<string> ValidationErrors()
    {
        var errors = new List<string>();
        // A deployment id obeys the model id rules (MlStrings.isValidId, hasValidLengthForId); it also names a grain and a state row.
        errors.AddRange(ModelIdRules.Errors(DeploymentId, "deployment_id"));
        // ES's first rule (an invalid wait_for state) cannot fail: every AllocationState is valid.
        errors.AddRange(AdaptiveAllocationsSettings.NumberOfAllocationsErrors(NumberOfAllocations, AdaptiveAllocations));
        if (ThreadsPerAllocation < 1) errors.Add("[threads_per_allocation] must be a positive integer");
        if (AdaptiveAllocations is not null) errors.AddRange(AdaptiveAllocations.ValidationErrors());
        if (ThreadsPerAllocation > MaxThreadsPerAllocation || !IsPowerOfTwo(ThreadsPerAllocation))
            errors.Add($"[threads_per_allocation] must be a power of 2 less than or equal to {MaxThreadsPerAllocation}");
        if (QueueCapacity < 1) errors.Add("[queue_capacity] must be a positive integer");
        if (QueueCapacity > MaxQueueCapacity) errors.Add($"[queue_capacity] must be less than {MaxQueueCapacity}");
        if (Timeout.Nanos < 1) errors.Add("[timeout] must be positive");
        if (Priority == Priority.Low)
        {
            if (NumberOfAllocations > 1) errors.Add("[number_of_allocations] must be 1 when [priority] is low");
            if (ThreadsPerAllocation > 1) errors.Add("[threads_per_allocation] must be 1 when [priority] is low");
        }
        return errors;
    }

    /// <summary>
    /// The deployment's task parameters, as TransportStartTrainedModelDeploymentAction builds them: the cache
    /// size is the one given, else the model's size in bytes (echoed as ES echoes it, e.g. <c>"1630b"</c>).
    /// </summary>
    public TaskParameters ToTaskParameters(long modelBytes, long perDeploymentMemoryBytes = 0, long perAllocationMemoryBytes = 0) => new()
    {
        ModelId = ModelId,
        DeploymentId = DeploymentId,
        ModelBytes = modelBytes,
        ThreadsPerAllocation = ThreadsPerAllocation,
        NumberOfAllocations = EffectiveNumberOfAllocations,
        QueueCapacity = QueueCapacity,
        CacheSize = (CacheSize ?? ByteSize.OfBytes(modelBytes)).StringRep,
        Priority = Priority,
        PerDeploymentMemoryBytes = perDeploymentMemoryBytes,
        PerAllocationMemoryBytes = perAllocationMemoryBytes,
    };

    private static bool IsPowerOfTwo(int value) => value > 0 && (value & (value - 1)) == 0;


    /// <summary>
    /// RestCompatibilityChecker.checkAndSetDeprecatedParam: the legacy name wins when present (with a
    /// deprecation warning); otherwise the current name is read.
    /// </summary>
    internal static int? LegacyOrCurrentInt(IReadOnlyDictionary<string, string?> query, string legacy, string current, List<string> warnings)
    {
        if (RestParameters.Has(query, legacy))
        {
            warnings.Add(DeprecatedField(legacy, current));
            return RestParameters.Int(query, legacy);
        }
        return RestParameters.Int(query, current);
    }

    internal static string DeprecatedField(string used, string expected) => $"Deprecated field [{used}] used, expected [{expected}] instead";

    private sealed class Fields
    {
        public string? ModelId;
        public int? NumberOfAllocations;
        public int ThreadsPerAllocation = DefaultThreadsPerAllocation;
        public int QueueCapacity = DefaultQueueCapacity;
        public ByteSize? CacheSize;
        public Priority Priority = Priority.Normal;
        public TimeValue Timeout = DefaultTimeout;
        public AllocationState WaitFor = AllocationState.Started;
        public AdaptiveAllocationsSettings? Adaptive;
    }

    private static ObjectParser BuildParser(JsonBody json, Fields f, List<string> warnings) => new ObjectParser(ParserName)
        .Declare("model_id", Accepts.String, v => f.ModelId = Values.String(v))
        // ES parses the body's deployment_id, then replaces it with the query parameter or the model id.
        .Declare("deployment_id", Accepts.String, _ => { })
        .Declare("timeout", Accepts.String, v => f.Timeout = TimeValue.Parse(Values.String(v), "timeout"))
        .Declare("wait_for", Accepts.String, v => f.WaitFor = EsNames.ParseWaitFor(Values.String(v)))
        .Declare("threads_per_allocation", Accepts.Int, v => f.ThreadsPerAllocation = Values.Int(v))
        .Declare("inference_threads", Accepts.Int, v =>
        {
            f.ThreadsPerAllocation = Values.Int(v);
            warnings.Add(DeprecatedField("inference_threads", "threads_per_allocation"));
        })
        .Declare("number_of_allocations", Accepts.Int, v => f.NumberOfAllocations = Values.Int(v))
        .Declare("model_threads", Accepts.Int, v =>
        {
            f.NumberOfAllocations = Values.Int(v);
            warnings.Add(DeprecatedField("model_threads", "number_of_allocations"));
        })
        .Declare("queue_capacity", Accepts.Int, v => f.QueueCapacity = Values.Int(v))
        .Declare("cache_size", Accepts.Value, v => f.CacheSize = ByteSize.Parse(Values.String(v), "cache_size"))
        .Declare("priority", Accepts.String, v => f.Priority = EsNames.ParsePriority(Values.String(v)))
        .Declare("adaptive_allocations", Accepts.Object | Accepts.NullToken,
            v => f.Adaptive = v.Kind == JsonKind.Null ? null : AdaptiveAllocationsSettings.Parse(json, v));
}
