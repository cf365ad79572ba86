using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using TrainedModelsOrleans.Cli.Service;
using TrainedModelsOrleans.Cli.Tensors;

namespace TrainedModelsOrleans.Cli.Commands;

/// <summary><c>infer</c>: one document — text, a JSON tensor or a .npy array — to <c>_infer</c>; the answer printed as JSON.</summary>
public static class InferCommand
{
    public static Command Create(ServiceOptions service)
    {
        var id = new Argument<string>("id") { Description = "A model id, deployment id or alias" };
        var text = new Option<string?>("--text") { Description = "Text for an NLP model" };
        var tensor = new Option<FileInfo>("--tensor") { Description = "A JSON file: {\"shape\",\"data\"}, {\"tensor\"}, {\"tensors\"} or a whole {\"docs\"} request" }.AcceptExistingOnly();
        var npy = new Option<FileInfo>("--npy") { Description = "A NumPy .npy array (float32, float64 or int64, C order) sent as the model's input tensor" }.AcceptExistingOnly();
        var field = new Option<string?>("--field") { Description = "With --text: the input field (default: the model's first input.field_names)" };
        var timeout = new Option<string?>("--timeout") { Description = "How long the service waits for the result, e.g. 10s" };
        var command = new Command("infer", "Run inference on one document and print the answer") { id, text, tensor, npy, field, timeout };
        command.Validators.Add(result =>
        {
            var given = (result.GetValue(text) is null ? 0 : 1) + (result.GetValue(tensor) is null ? 0 : 1) + (result.GetValue(npy) is null ? 0 : 1);
            if (given != 1) result.AddError("give exactly one of --text, --tensor and --npy");
        });
        command.SetAction((parse, cancellationToken) => CommandRun.RunAsync(async () =>
        {
            using var http = service.Connection(parse).CreateHttpClient();
            var client = new ElasticsearchClient(http);
            var target = parse.GetValue(id)!;
            var body = parse.GetValue(text) is { } words
                ? InferRequestBody.ForText(parse.GetValue(field) ?? await InputFieldAsync(client, target, cancellationToken), words)
                : parse.GetValue(npy) is { } npyFile
                    ? InferRequestBody.ForNpy(NpyArray.Read(npyFile.FullName))
                    : InferRequestBody.ForTensorJson(JsonNode.Parse(await File.ReadAllTextAsync(parse.GetValue(tensor)!.FullName, cancellationToken)));
            var answer = await client.InferAsync(target, body, parse.GetValue(timeout), cancellationToken);
            if (!answer.IsSuccess) throw new ServiceRefusedException($"infer on [{target}]", answer);
            // Indented for a person; one line for a pipe (jq, a file).
            Console.WriteLine(answer.Body?.ToJsonString(new JsonSerializerOptions { WriteIndented = !Console.IsOutputRedirected }) ?? answer.Text);
        }, cancellationToken));
        return command;
    }

    /// <summary>The model's first input field; for a deployment id, its model's (found through _stats).</summary>
    private static async Task<string> InputFieldAsync(ElasticsearchClient client, string id, CancellationToken cancellationToken)
    {
        var model = await client.GetModelAsync(id, cancellationToken);
        if (model.Status == 404)
        {
            var stats = await client.GetStatsAsync(cancellationToken);
            var modelId = (stats.Body?["trained_model_stats"] as JsonArray ?? [])
                .Select(s => s?["deployment_stats"])
                .FirstOrDefault(d => d?["deployment_id"]?.ToString() == id)?["model_id"]?.ToString();
            if (modelId is not null) model = await client.GetModelAsync(modelId, cancellationToken);
        }
        if (!model.IsSuccess) throw new ServiceRefusedException($"find the input field of [{id}] (or give --field)", model);
        return model.Body?["trained_model_configs"]?[0]?["input"]?["field_names"]?[0]?.ToString()
            ?? throw new FormatException($"model [{id}] names no input field; give --field");
    }
}
