using System.Text.Json.Nodes;
using Npgsql;
using TrainedModelsOrleans.TestModels;
using Xunit;

namespace TrainedModelsOrleans.Api.Tests;

/// <summary>Shortcuts for control-plane tests: models ready to deploy, deployments, Postgres checks.</summary>
internal static class Deployments
{
    public static string NewId(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(48, prefix.Length + 33)];

    /// <summary>An ONNX model with its whole definition uploaded.</summary>
    public static async Task<string> UploadModelAsync(this ServiceFixture service, string prefix = "model", byte[]? definition = null,
        string? id = null)
    {
        id ??= NewId(prefix);
        (await service.PutAsync($"/_ml/trained_models/{id}", ModelUploads.OnnxConfig())).AssertOk();
        var parts = ModelUploads.Parts(definition ?? TestOnnxModels.Mlp(), 2);
        for (var i = 0; i < parts.Count; i++) (await service.PutAsync($"/_ml/trained_models/{id}/definition/{i}", parts[i])).AssertOk();
        return id;
    }

    public static Task<Response> StartAsync(this ServiceFixture service, string modelId, string query = "") =>
        service.PostAsync($"/_ml/trained_models/{modelId}/deployment/_start{(query.Length > 0 ? "?" + query : "")}");

    public static Task<Response> StopAsync(this ServiceFixture service, string deploymentId, string query = "") =>
        service.PostAsync($"/_ml/trained_models/{deploymentId}/deployment/_stop{(query.Length > 0 ? "?" + query : "")}");

    public static Task<Response> UpdateAsync(this ServiceFixture service, string deploymentId, int allocations) =>
        service.PostAsync($"/_ml/trained_models/{deploymentId}/deployment/_update", new JsonObject { ["number_of_allocations"] = allocations });

    public static async Task<long> CountAsync(this ServiceFixture service, string sql, params object[] args)
    {
        await using var command = service.Database.DataSource.CreateCommand(sql);
        foreach (var arg in args) command.Parameters.Add(new NpgsqlParameter { Value = arg });
        return Convert.ToInt64(await command.ExecuteScalarAsync());
    }

    public static async Task ExecuteAsync(this ServiceFixture service, string sql, params object[] args)
    {
        await using var command = service.Database.DataSource.CreateCommand(sql);
        foreach (var arg in args) command.Parameters.Add(new NpgsqlParameter { Value = arg });
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>An ML node that is only a row in the membership table: the planner uses it, nothing serves on it.</summary>
    public static Task AddPhantomNodeAsync(this ServiceFixture service, string name, int processors, long memoryBytes = 16L << 30) =>
        service.ExecuteAsync("""
            INSERT INTO silos (silo_id, generation, address, status, allocated_processors, memory_bytes, heartbeat)
            VALUES ($1, 1, '127.0.0.1:9', 'active', $2, $3, now() + interval '1 hour')
            """, name, processors, memoryBytes);

    /// <summary>Invariant 1, read from Postgres: normal-priority threads per node never exceed its processors.</summary>
    public static async Task AssertNoNodeOversubscribedAsync(this ServiceFixture service)
    {
        await using var command = service.Database.DataSource.CreateCommand("""
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
