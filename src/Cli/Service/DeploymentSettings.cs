using System.Globalization;

namespace TrainedModelsOrleans.Cli.Service;

/// <summary>The start API's parameters the tool passes on (sent on the query string; unset ones take the service's defaults).</summary>
public sealed record DeploymentSettings
{
    public string? DeploymentId { get; init; }
    public int? NumberOfAllocations { get; init; }
    public int? ThreadsPerAllocation { get; init; }
    public int? QueueCapacity { get; init; }
    public string? Priority { get; init; }
    public string? WaitFor { get; init; }
    public string? Timeout { get; init; }

    public string ToQueryString()
    {
        var pairs = new List<string>();
        void Add(string name, object? value)
        {
            if (value is not null) pairs.Add($"{name}={Uri.EscapeDataString(Convert.ToString(value, CultureInfo.InvariantCulture)!)}");
        }
        Add("deployment_id", DeploymentId);
        Add("number_of_allocations", NumberOfAllocations);
        Add("threads_per_allocation", ThreadsPerAllocation);
        Add("queue_capacity", QueueCapacity);
        Add("priority", Priority);
        Add("wait_for", WaitFor);
        Add("timeout", Timeout);
        return pairs.Count == 0 ? "" : "?" + string.Join('&', pairs);
    }
}
