using System.Text.Json.Nodes;
using TrainedModelsOrleans.TestSupport;

namespace TrainedModelsOrleans.Cluster.Tests;

/// <summary>A deployment as <c>GET _ml/trained_models/&lt;id&gt;/_stats</c> shows it, and as deployment_routes stores it.</summary>
internal sealed record DeploymentState(string State, int NumberOfAllocations, IReadOnlyDictionary<string, (string RoutingState, int Allocations)> Nodes)
{
    /// <summary>The deployment's stats through this node's API; null when the model has no deployment.</summary>
    public static async Task<DeploymentState?> ReadAsync(HttpClient http, string deploymentId)
    {
        var response = await http.SendJsonAsync(HttpMethod.Get, $"/_ml/trained_models/{deploymentId}/_stats");
        // While a silo is dying the API may answer 503 for a while: a failed read, which pollers retry.
        if (response.Status != System.Net.HttpStatusCode.OK) throw new HttpRequestException($"stats answered {(int)response.Status}: {response.Text}");
        var stats = response.Body;
        var deployment = stats["trained_model_stats"]!.AsArray().Select(s => s!["deployment_stats"]).OfType<JsonObject>()
            .FirstOrDefault(d => d["deployment_id"]!.GetValue<string>() == deploymentId);
        if (deployment is null) return null;
        var nodes = new Dictionary<string, (string, int)>();
        foreach (var node in deployment["nodes"]!.AsArray())
        {
            // A route whose node is no longer a member prints without "node": name it as such.
            var name = node!["node"] is JsonObject described ? described.Single().Key : $"(unknown #{nodes.Count})";
            nodes[name] = (node["routing_state"]!["routing_state"]!.GetValue<string>(), node["number_of_allocations"]?.GetValue<int>() ?? 0);
        }
        return new DeploymentState(deployment["state"]!.GetValue<string>(), deployment["number_of_allocations"]!.GetValue<int>(), nodes);
    }

    /// <summary>number_of_allocations as committed in the deployment's grain state; null when there is none.</summary>
    public static async Task<int?> StoredNumberOfAllocationsAsync(TestCluster cluster, string deploymentId) =>
        await cluster.ScalarAsync<int?>("""
            SELECT number_of_allocations FROM ml_deployments WHERE deployment_id = $1
            """, deploymentId);

    /// <summary>Started, and every route started with at least one allocation.</summary>
    public bool AllRoutesStarted => State == "started" && Nodes.Count > 0 && Nodes.Values.All(n => n.RoutingState == "started" && n.Allocations > 0);

    public int Allocations => Nodes.Values.Sum(n => n.Allocations);

    public override string ToString() =>
        $"{State}, {NumberOfAllocations} allocations wanted, routes: {string.Join(", ", Nodes.Select(n => $"{n.Key}={n.Value.RoutingState}/{n.Value.Allocations}"))}";
}
