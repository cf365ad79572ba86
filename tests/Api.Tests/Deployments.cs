using Npgsql;
using TrainedModelsOrleans.TestModels;

namespace TrainedModelsOrleans.Api.Tests;

/// <summary>Shortcuts for control-plane tests: models ready to deploy, deployments, Postgres checks.</summary>
internal static class Deployments
{
    public static string NewId(string prefix) => MlApi.NewId(prefix);

    /// <summary>An ONNX model with its whole definition uploaded.</summary>
    public static async Task<string> UploadModelAsync(this ServiceFixture service, string prefix = "model", byte[]? definition = null,
        string? id = null)
    {
        id ??= NewId(prefix);
        await service.Http.UploadOnnxModelAsync(id, definition ?? TestOnnxModels.Mlp());
        return id;
    }

    public static Task<Response> StartAsync(this ServiceFixture service, string modelId, string query = "") => service.Http.StartDeploymentAsync(modelId, query);

    public static Task<Response> StopAsync(this ServiceFixture service, string deploymentId, string query = "") => service.Http.StopDeploymentAsync(deploymentId, query);

    public static Task<Response> UpdateAsync(this ServiceFixture service, string deploymentId, int allocations) =>
        service.Http.UpdateDeploymentAsync(deploymentId, allocations);

    public static async Task<long> CountAsync(this ServiceFixture service, string sql, params object[] args)
    {
        await TestSupport.CommittedRows.WaitAsync(service.Database.DataSource);
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

    /// <summary>Invariant 1, read from Postgres: normal-priority threads per node never exceed its processors.</summary>
    public static Task AssertNoNodeOversubscribedAsync(this ServiceFixture service) => MlApi.AssertNoNodeOversubscribedAsync(service.Database.DataSource);
}
