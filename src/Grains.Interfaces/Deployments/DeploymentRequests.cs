using Orleans;

namespace TrainedModelsOrleans.Grains.Deployments;

/// <summary>
/// <c>POST _ml/trained_models/&lt;model_id&gt;/deployment/_start</c> as typed parameters (Elasticsearch's names in
/// the comments). The HTTP API builds it from the query and body; an SDK caller sets the properties. The grain
/// validates it with Elasticsearch's rules and texts whichever way it came.
/// </summary>
[GenerateSerializer(GenerateFieldIds = GenerateFieldIds.PublicProperties), Immutable, Alias("tmo.StartDeploymentRequest")]
public sealed record StartDeploymentRequest
{
    /// <summary>model_id (the path).</summary>
    public required string ModelId { get; init; }

    /// <summary>deployment_id; null: the model id.</summary>
    public string? DeploymentId { get; init; }

    /// <summary>number_of_allocations; null: 1 (or adaptive allocations' minimum).</summary>
    public int? NumberOfAllocations { get; init; }

    /// <summary>threads_per_allocation: a power of 2, at most 32.</summary>
    public int ThreadsPerAllocation { get; init; } = 1;

    /// <summary>queue_capacity.</summary>
    public int QueueCapacity { get; init; } = 1024;

    /// <summary>cache_size, an Elasticsearch byte size ("10kb", "0b"); null: the model's size.</summary>
    public string? CacheSize { get; init; }

    /// <summary>priority.</summary>
    public Priority Priority { get; init; } = Priority.Normal;

    /// <summary>timeout, an Elasticsearch time value ("30s", "1m").</summary>
    public string Timeout { get; init; } = "30s";

    /// <summary>wait_for.</summary>
    public AllocationState WaitFor { get; init; } = AllocationState.Started;

    /// <summary>adaptive_allocations: stored in the assignment and acted upon by the coordinator's scaler.</summary>
    public AdaptiveAllocations? AdaptiveAllocations { get; init; }

    /// <summary>Deprecation warnings the HTTP layer found (legacy parameter names), echoed as Warning headers.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];
}

/// <summary>adaptive_allocations: enabled, min_number_of_allocations, max_number_of_allocations.</summary>
[GenerateSerializer(GenerateFieldIds = GenerateFieldIds.PublicProperties), Immutable, Alias("tmo.AdaptiveAllocations")]
public sealed record AdaptiveAllocations
{
    [System.Text.Json.Serialization.JsonPropertyName("enabled")]
    public bool? Enabled { get; init; }

    [System.Text.Json.Serialization.JsonPropertyName("min_number_of_allocations")]
    public int? MinNumberOfAllocations { get; init; }

    [System.Text.Json.Serialization.JsonPropertyName("max_number_of_allocations")]
    public int? MaxNumberOfAllocations { get; init; }
}

/// <summary><c>POST _ml/trained_models/&lt;deployment_id&gt;/deployment/_update</c> as typed parameters.</summary>
[GenerateSerializer(GenerateFieldIds = GenerateFieldIds.PublicProperties), Immutable, Alias("tmo.UpdateDeploymentRequest")]
public sealed record UpdateDeploymentRequest
{
    public required string DeploymentId { get; init; }

    /// <summary>number_of_allocations.</summary>
    public int? NumberOfAllocations { get; init; }

    /// <summary>adaptive_allocations; see <see cref="ResetAdaptiveAllocations"/> for an explicit null.</summary>
    public AdaptiveAllocations? AdaptiveAllocations { get; init; }

    /// <summary>adaptive_allocations given as null: turn them off.</summary>
    public bool ResetAdaptiveAllocations { get; init; }

    /// <summary>timeout, an Elasticsearch time value.</summary>
    public string Timeout { get; init; } = "30s";

    public IReadOnlyList<string> Warnings { get; init; } = [];
}

/// <summary><c>POST _ml/trained_models/&lt;deployment_id&gt;/deployment/_stop</c> as typed parameters.</summary>
[GenerateSerializer(GenerateFieldIds = GenerateFieldIds.PublicProperties), Immutable, Alias("tmo.StopDeploymentRequest")]
public sealed record StopDeploymentRequest
{
    public required string DeploymentId { get; init; }

    /// <summary>allow_no_match.</summary>
    public bool AllowNoMatch { get; init; } = true;

    /// <summary>force.</summary>
    public bool Force { get; init; }

    /// <summary>finish_pending_work.</summary>
    public bool FinishPendingWork { get; init; }
}

/// <summary><c>PUT _ml/trained_models/&lt;model_id&gt;/model_aliases/&lt;model_alias&gt;</c> as typed parameters.</summary>
[GenerateSerializer(GenerateFieldIds = GenerateFieldIds.PublicProperties), Immutable, Alias("tmo.PutModelAliasRequest")]
public sealed record PutModelAliasRequest
{
    public required string ModelId { get; init; }
    public required string ModelAlias { get; init; }

    /// <summary>reassign.</summary>
    public bool Reassign { get; init; }
}
