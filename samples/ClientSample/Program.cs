using System.Text;
using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.ModelStore;
using TrainedModelsOrleans.Grains.Models;
using TrainedModelsOrleans.Grains.Serving;
using TrainedModelsOrleans.Grains.Wire;

// A .NET service using the Orleans client SDK: upload an ONNX model (optional), start a deployment,
// run inference through the tensor path, read the deployment's stats, and stop the deployment — over the silos' Orleans gateways
// (each silo's Node:GatewayPort, the HTTP port + 200), no HTTP.
//
//   dotnet run --project samples/ClientSample -- --gateways 127.0.0.1:9400,127.0.0.1:9401 \
//       --model sample-model --onnx model.onnx --input input --shape 1,64
var options = SampleOptions.Parse(args);
AppDomain.CurrentDomain.UnhandledException += (_, e) =>
{
    // Errors cross the wire as themselves: an ES rule as ElasticsearchException, Orleans' own as SiloUnavailableException, TimeoutException….
    Console.Error.WriteLine($"{e.ExceptionObject.GetType().Name}: {(e.ExceptionObject as Exception)?.Message}");
    Environment.Exit(1);
};
await using var client = await TrainedModelsClient.ConnectAsync(options.Gateways);
Console.WriteLine($"connected through {string.Join(',', options.Gateways)}");

var model = client.GetGrain<ITrainedModelGrain>(options.ModelId);
if (options.OnnxFile is not null && await model.GetConfig() is not null)
{
    Console.WriteLine($"model {options.ModelId} already exists; not uploading {options.OnnxFile}");
}
else if (options.OnnxFile is { } file)
{
    var config = new JsonObject
    {
        ["model_type"] = "onnx",
        ["inference_config"] = new JsonObject { ["pass_through"] = new JsonObject() },
        ["input"] = new JsonObject { ["field_names"] = new JsonArray(options.Input) },
    };
    await model.Put(new PutTrainedModelRequest { ModelId = options.ModelId, Config = config });
    var bytes = await File.ReadAllBytesAsync(file);
    // The definition as one part of raw bytes: the SDK skips the base64 the HTTP API needs.
    await model.PutDefinitionPart(new DefinitionPart
    {
        ModelId = options.ModelId, Part = 0, TotalParts = 1, TotalDefinitionLength = bytes.Length, Definition = bytes,
    });
    Console.WriteLine($"uploaded {file} ({bytes.Length} bytes) as {options.ModelId}");
}

var deployment = client.GetGrain<IDeploymentGrain>(options.ModelId);
var started = await deployment.Start(new StartDeploymentRequest { ModelId = options.ModelId, WaitFor = AllocationState.Started });
Console.WriteLine($"started: {started.AssignmentState.ToString().ToLowerInvariant()}");

var inference = client.GetGrain<IInferenceGrain>("sdk");
var count = options.Shape.Aggregate(1L, (a, b) => a * b);
var data = Enumerable.Range(0, (int)count).Select(i => (float)Math.Sin(i)).ToArray();
var outputs = await inference.InferTensors(options.ModelId, [[InferenceTensor.Of(options.Input, data, options.Shape)]]);
foreach (var tensor in outputs[0])
{
    var values = tensor.Data.Cast<object>().Take(8).Select(v => Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture));
    Console.WriteLine($"{tensor.Name} [{string.Join(',', tensor.Shape)}]: {string.Join(", ", values)}{(tensor.Data.Length > 8 ? ", …" : "")}");
}

// The model's stats, typed (GET _ml/trained_models/<id>/_stats without the JSON): each deployment, and what each node counted.
var stats = await client.GetGrain<IModelStoreGrain>("sdk").GetStats(new GetTrainedModelsRequest { ModelId = options.ModelId });
foreach (var deploymentStats in stats.TrainedModelStats.Select(s => s.DeploymentStats).OfType<TrainedModelDeploymentStats>())
    foreach (var node in deploymentStats.Nodes)
        Console.WriteLine($"{deploymentStats.Assignment.TaskParameters.DeploymentId} on {node.NodeId}: " +
                          $"{deploymentStats.Assignment.RoutingTable[node.NodeId].CurrentAllocations} allocations, {node.Stats?.InferenceCount ?? 0} inferences");

if (!options.KeepDeployment)
{
    await deployment.Stop(new StopDeploymentRequest { DeploymentId = options.ModelId });
    Console.WriteLine("stopped");
}

internal sealed record SampleOptions(string[] Gateways, string ModelId, string? OnnxFile, string Input, long[] Shape, bool KeepDeployment)
{
    public static SampleOptions Parse(string[] args)
    {
        string Value(string name, string fallback)
        {
            var at = Array.IndexOf(args, name);
            return at >= 0 && at + 1 < args.Length ? args[at + 1] : fallback;
        }
        var onnx = Value("--onnx", "");
        return new SampleOptions(
            Value("--gateways", "127.0.0.1:9400").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            Value("--model", "sample-model"),
            onnx.Length == 0 ? null : onnx,
            Value("--input", "input"),
            Value("--shape", "1,64").Split(',').Select(long.Parse).ToArray(),
            args.Contains("--keep"));
    }
}
