using System.CommandLine;
using TrainedModelsOrleans.Cli.Service;

namespace TrainedModelsOrleans.Cli.Commands;

/// <summary><c>stop</c>: <c>POST _ml/trained_models/&lt;deployment_id&gt;/deployment/_stop</c>.</summary>
public static class StopCommand
{
    public static Command Create(ServiceOptions service)
    {
        var deploymentId = new Argument<string>("deployment-id") { Description = "The deployment to stop" };
        var force = new Option<bool>("--force") { Description = "Stop even while ingest pipelines reference it" };
        var command = new Command("stop", "Stop a deployment") { deploymentId, force };
        command.SetAction((parse, cancellationToken) => CommandRun.RunAsync(async () =>
        {
            using var http = service.Connection(parse).CreateHttpClient();
            var id = parse.GetValue(deploymentId)!;
            var answer = await new ElasticsearchClient(http).StopDeploymentAsync(id, parse.GetValue(force), cancellationToken);
            if (!answer.IsSuccess) throw new ServiceRefusedException($"stop deployment [{id}]", answer);
            Console.WriteLine(answer.Text);
        }, cancellationToken));
        return command;
    }
}
