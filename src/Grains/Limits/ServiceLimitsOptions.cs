using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace TrainedModelsOrleans.Grains.Limits;

/// <summary>
/// What one request may make the service do (configuration section "Limits"). Elasticsearch's defaults where it has
/// them (<c>http.max_content_length</c>); the others are ours, sized so a refused request costs little and an accepted
/// one cannot take the node's memory or CPU.
/// </summary>
public sealed class ServiceLimitsOptions
{
    public const string Section = "Limits";

    /// <summary>ES's <c>http.max_content_length</c>: the largest request body, in bytes (default 100mb). Larger bodies get 413.</summary>
    public long MaxContentLength { get; set; } = 100L * 1024 * 1024;

    /// <summary>Documents in one <c>_infer</c> request (default 10,000). ES sets none; more docs than this get 400.</summary>
    public int MaxInferDocs { get; set; } = 10_000;

    /// <summary>Tensor elements (the product of each tensor's shape, summed) in one <c>_infer</c> request (default 16M = 64 MB of floats).</summary>
    public long MaxTensorElements { get; set; } = 16L * 1024 * 1024;

    /// <summary>The largest <c>total_definition_length</c> a model may declare (default 2,000,000,000 bytes: one .NET array, ONNX's 2 GB protobuf limit).</summary>
    public long MaxTotalDefinitionLength { get; set; } = 2_000_000_000;

    /// <summary>
    /// The most a <c>compressed_definition</c> may inflate to (default: ES's, a quarter of the memory the runtime sees or
    /// 1 GB, whichever is smaller); beyond it, 429 circuit_breaking_exception, as ES answers.
    /// </summary>
    public long MaxInflatedDefinitionLength { get; set; } =
        Math.Min(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 4, 1L << 30);

    /// <summary>Trees in one tree-ensemble model, nested ensembles included (default 10,000).</summary>
    public int MaxTrees { get; set; } = 10_000;

    /// <summary>Nodes in one tree (default 100,000).</summary>
    public int MaxNodesPerTree { get; set; } = 100_000;

    /// <summary>Nodes over all trees of one model (default 5,000,000).</summary>
    public long MaxTotalTreeNodes { get; set; } = 5_000_000;

    /// <summary>Definition parts decoded at once on a node (default 2: each holds its body and its decoded bytes).</summary>
    public int MaxConcurrentDefinitionUploads { get; set; } = 2;

    /// <summary>How long a definition part waits for a free upload slot before it is refused with 429 (default 30 s).</summary>
    public TimeSpan DefinitionUploadWait { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>Refuses settings that would switch a limit off or make it meaningless, at start-up.</summary>
public sealed class ServiceLimitsOptionsValidator : IValidateOptions<ServiceLimitsOptions>
{
    public ValidateOptionsResult Validate(string? name, ServiceLimitsOptions options)
    {
        var errors = new List<string>();
        if (options.MaxContentLength <= 0 || options.MaxContentLength > int.MaxValue)
            errors.Add($"Limits:MaxContentLength must be between 1 and {int.MaxValue} bytes (a body is read into one array)");
        if (options.MaxInferDocs <= 0) errors.Add("Limits:MaxInferDocs must be positive");
        if (options.MaxTensorElements <= 0) errors.Add("Limits:MaxTensorElements must be positive");
        if (options.MaxTotalDefinitionLength <= 0 || options.MaxTotalDefinitionLength > Array.MaxLength)
            errors.Add($"Limits:MaxTotalDefinitionLength must be between 1 and {Array.MaxLength} bytes (a definition is assembled into one array)");
        if (options.MaxInflatedDefinitionLength <= 0 || options.MaxInflatedDefinitionLength > Array.MaxLength)
            errors.Add($"Limits:MaxInflatedDefinitionLength must be between 1 and {Array.MaxLength} bytes (a definition inflates into one array)");
        if (options.MaxTrees <= 0) errors.Add("Limits:MaxTrees must be positive");
        if (options.MaxNodesPerTree <= 0) errors.Add("Limits:MaxNodesPerTree must be positive");
        if (options.MaxTotalTreeNodes <= 0) errors.Add("Limits:MaxTotalTreeNodes must be positive");
        if (options.MaxConcurrentDefinitionUploads <= 0) errors.Add("Limits:MaxConcurrentDefinitionUploads must be positive");
        if (options.DefinitionUploadWait < TimeSpan.Zero) errors.Add("Limits:DefinitionUploadWait must not be negative");
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}

public static class ServiceLimitsServiceCollectionExtensions
{
    /// <summary>Binds <see cref="ServiceLimitsOptions"/> to <paramref name="section"/>, validated at start, and registers <see cref="ServiceLimits"/>.</summary>
    public static IServiceCollection AddServiceLimits(this IServiceCollection services, IConfiguration section)
    {
        services.AddOptions<ServiceLimitsOptions>().Bind(section).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ServiceLimitsOptions>, ServiceLimitsOptionsValidator>());
        services.TryAddSingleton(sp => new ServiceLimits(sp.GetRequiredService<IOptions<ServiceLimitsOptions>>().Value));
        return services;
    }
}
