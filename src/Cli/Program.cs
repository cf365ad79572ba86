using System.CommandLine;
using TrainedModelsOrleans.Cli.Commands;

// The upload tool: thin command wiring here and in Commands/; the upload's rules live in Upload/, the HTTP calls in Service/.
var service = new ServiceOptions();
var root = new RootCommand("Upload, list, run and stop ONNX models on a TrainedModelsOrleans service (Elasticsearch's trained-model APIs)");
service.AddTo(root);
root.Add(UploadCommand.Create(service));
root.Add(ListCommand.Create(service));
root.Add(InferCommand.Create(service));
root.Add(StopCommand.Create(service));
return await root.Parse(args).InvokeAsync();
