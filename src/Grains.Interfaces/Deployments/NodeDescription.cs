using Orleans;

namespace TrainedModelsOrleans.Grains.Deployments;

/// <summary>The part of ES's DiscoveryNode that stats print under <c>node</c>.</summary>
[GenerateSerializer(GenerateFieldIds = GenerateFieldIds.PublicProperties), Immutable, Alias("tmo.NodeDescription")]
public sealed record NodeDescription
{
    public required string Id { get; init; }
    public required string Name { get; init; }
    public string? EphemeralId { get; init; }
    public required string TransportAddress { get; init; }
    public IReadOnlyDictionary<string, string> Attributes { get; init; } = new Dictionary<string, string>();
    public IReadOnlyList<string> Roles { get; init; } = ["ml"];
}
