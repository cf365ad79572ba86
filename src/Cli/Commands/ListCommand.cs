using System.CommandLine;
using System.Text.Json.Nodes;
using Spectre.Console;
using TrainedModelsOrleans.Cli.Service;

namespace TrainedModelsOrleans.Cli.Commands;

/// <summary><c>list</c>: <c>_cat/ml/trained_models</c> as a table, then the deployments from <c>_stats</c>.</summary>
public static class ListCommand
{
    public static Command Create(ServiceOptions service)
    {
        var command = new Command("list", "List the models (as _cat/ml/trained_models does) and their deployments");
        command.SetAction((parse, cancellationToken) => CommandRun.RunAsync(async () =>
        {
            using var http = service.Connection(parse).CreateHttpClient();
            var client = new ElasticsearchClient(http);
            var cat = await client.CatModelsAsync(cancellationToken);
            if (!cat.IsSuccess) throw new ServiceRefusedException("list models", cat);
            var stats = await client.GetStatsAsync(cancellationToken);
            if (!stats.IsSuccess) throw new ServiceRefusedException("read model stats", stats);
            var console = AnsiConsole.Console;
            // Piped, Spectre assumes 80 columns and wraps ids inside cells; a file or grep reads whole rows better.
            if (Console.IsOutputRedirected) console.Profile.Width = 240;
            console.Write(ModelsTable(cat.Body as JsonArray ?? []));
            console.Write(DeploymentsTable(stats.Body?["trained_model_stats"] as JsonArray ?? []));
        }, cancellationToken));
        return command;
    }

    /// <summary>Every column the cat API answered, in its order (it chooses the default columns).</summary>
    public static Table ModelsTable(JsonArray rows)
    {
        var table = new Table().Title("models");
        var columns = rows.OfType<JsonObject>().SelectMany(r => r.Select(p => p.Key)).Distinct().ToArray();
        if (columns.Length == 0) columns = ["id"];
        foreach (var column in columns) table.AddColumn(column);
        foreach (var row in rows.OfType<JsonObject>())
            table.AddRow(columns.Select(c => Markup.Escape(row[c]?.ToString() ?? "")).ToArray());
        return table;
    }

    public static Table DeploymentsTable(JsonArray modelStats)
    {
        var table = new Table().Title("deployments");
        foreach (var column in new[] { "deployment_id", "model_id", "state", "allocations", "threads", "queue_capacity", "priority", "inference_count" })
            table.AddColumn(column);
        foreach (var deployment in modelStats.Select(s => s?["deployment_stats"]).OfType<JsonObject>())
        {
            var status = deployment["allocation_status"];
            table.AddRow(
                Text(deployment["deployment_id"]), Text(deployment["model_id"]), Text(deployment["state"]),
                status is null ? "" : $"{status["allocation_count"]}/{status["target_allocation_count"]}",
                Text(deployment["threads_per_allocation"]), Text(deployment["queue_capacity"]), Text(deployment["priority"]),
                Text(deployment["inference_count"] ?? 0));
        }
        return table;
    }

    private static string Text(JsonNode? value) => Markup.Escape(value?.ToString() ?? "");
}
