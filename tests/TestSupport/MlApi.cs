using System.Text.Json.Nodes;
using Npgsql;
using Xunit;

namespace TrainedModelsOrleans.TestSupport;

/// <summary>The ML API calls and Postgres checks control-plane tests share, on any node's HttpClient and any test database.</summary>
public static class MlApi
{
    public static string NewId(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(48, prefix.Length + 33)];

    /// <summary>PUT the model's config, then its definition in <paramref name="parts"/> parts, each answered 200.</summary>
    public static async Task UploadOnnxModelAsync(this HttpClient http, string id, byte[] definition, int parts = 2)
    {
        (await http.SendJsonAsync(HttpMethod.Put, $"/_ml/trained_models/{id}", ModelUploads.OnnxConfig())).AssertOk();
        var bodies = ModelUploads.Parts(definition, parts);
        for (var i = 0; i < bodies.Count; i++) (await http.SendJsonAsync(HttpMethod.Put, $"/_ml/trained_models/{id}/definition/{i}", bodies[i])).AssertOk();
    }

    public static Task<Response> StartDeploymentAsync(this HttpClient http, string modelId, string query = "", CancellationToken cancellationToken = default) =>
        http.SendJsonAsync(HttpMethod.Post, $"/_ml/trained_models/{modelId}/deployment/_start{(query.Length > 0 ? "?" + query : "")}",
            cancellationToken: cancellationToken);

    public static Task<Response> StopDeploymentAsync(this HttpClient http, string deploymentId, string query = "", CancellationToken cancellationToken = default) =>
        http.SendJsonAsync(HttpMethod.Post, $"/_ml/trained_models/{deploymentId}/deployment/_stop{(query.Length > 0 ? "?" + query : "")}",
            cancellationToken: cancellationToken);

    public static Task<Response> UpdateDeploymentAsync(this HttpClient http, string deploymentId, int allocations, CancellationToken cancellationToken = default) =>
        http.SendJsonAsync(HttpMethod.Post, $"/_ml/trained_models/{deploymentId}/deployment/_update",
            new JsonObject { ["number_of_allocations"] = allocations }, cancellationToken: cancellationToken);

    /// <summary>Invariant 1, read from Postgres: normal-priority threads per node never exceed its processors.</summary>
    public static async Task AssertNoNodeOversubscribedAsync(NpgsqlDataSource dataSource)
    {
        await CommittedRows.WaitAsync(dataSource);
        await using var command = dataSource.CreateCommand("""
            SELECT r.node, SUM(GREATEST(r.current_allocations, r.target_allocations) * r.threads_per_allocation), MAX(c.allocated_processors)
            FROM deployment_routes r JOIN node_capacity c ON c.node = r.node
            WHERE r.priority = 'normal' AND r.routing_state NOT IN ('failed', 'stopped')
            GROUP BY r.node
            """);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            Assert.True(reader.GetInt64(1) <= reader.GetInt32(2), $"node {reader.GetString(0)} runs {reader.GetInt64(1)} threads on {reader.GetInt32(2)} processors");
    }
}
