using System.CommandLine;
using Spectre.Console;
using TrainedModelsOrleans.Cli.Service;
using TrainedModelsOrleans.Cli.Upload;

namespace TrainedModelsOrleans.Cli.Commands;

/// <summary><c>upload</c>: options in, an <see cref="UploadRequest"/> out, handed to <see cref="ModelUploader"/>.</summary>
public static class UploadCommand
{
    public static Command Create(ServiceOptions service)
    {
        var model = new Argument<FileInfo>("model") { Description = "The .onnx file" }.AcceptExistingOnly();
        var modelId = new Option<string>("--model-id") { Description = "The model's id in the service", Required = true };
        var taskType = new Option<string?>("--task-type")
        {
            Description = "The inference task (pass_through, text_embedding, text_classification, ner, fill_mask, question_answering, " +
                          "text_similarity, text_expansion, zero_shot_classification, …); or give --config",
        };
        var config = new Option<FileInfo>("--config") { Description = "A JSON file with the whole model config (PUT _ml/trained_models body)" }.AcceptExistingOnly();
        var inputField = new Option<string>("--input-field") { Description = "The documents' input field (with --task-type)", DefaultValueFactory = _ => ModelConfig.DefaultInputField };
        var labels = new Option<string[]>("--labels") { Description = "classification_labels, comma-separated (with --task-type)", AllowMultipleArgumentsPerToken = true };
        var tokenization = new Option<string?>("--tokenization") { Description = "bert, mpnet, roberta, xlm_roberta, deberta_v2 (with --task-type; the service defaults to bert)" };
        var description = new Option<string?>("--description") { Description = "The model's description (with --task-type)" };
        var vocab = new Option<FileInfo>("--vocab") { Description = "Vocabulary: a JSON body or token array, or a text file of one token a line" }.AcceptExistingOnly();
        var merges = new Option<FileInfo>("--merges") { Description = "BPE merges (roberta): JSON array or merges.txt" }.AcceptExistingOnly();
        var scores = new Option<FileInfo>("--scores") { Description = "Unigram scores (xlm_roberta, deberta_v2): JSON array or one number a line" }.AcceptExistingOnly();
        var partSize = new Option<int>("--part-size") { Description = "Raw bytes per definition part, before base64 (Eland's 4 MiB by default)", DefaultValueFactory = _ => PartPlan.DefaultPartSize };
        var clearPrevious = new Option<bool>("--clear-previous") { Description = "Delete a model of this id (and its deployments) first, instead of resuming it" };
        var maxAttempts = new Option<int>("--max-attempts") { Description = "Attempts per request on a connection error, 5xx or 429", DefaultValueFactory = _ => RetryPolicy.Default.MaxAttempts };
        var start = new Option<bool>("--start") { Description = "Start a deployment once the model is uploaded" };
        var deploymentId = new Option<string?>("--deployment-id") { Description = "With --start: the deployment's id (default: the model id)" };
        var allocations = new Option<int?>("--number-of-allocations") { Description = "With --start" };
        var threads = new Option<int?>("--threads-per-allocation") { Description = "With --start" };
        var queueCapacity = new Option<int?>("--queue-capacity") { Description = "With --start" };
        var priority = new Option<string?>("--priority") { Description = "With --start: normal or low" };
        var waitFor = new Option<string?>("--wait-for") { Description = "With --start: starting, started (the service's default) or fully_allocated" };
        var timeout = new Option<string?>("--timeout") { Description = "With --start: how long the start waits, e.g. 30s" };

        var command = new Command("upload", "Upload an ONNX model as Eland's importer does: config, definition in base64 parts, vocabulary; resume an interrupted upload; optionally start it")
        {
            model, modelId, taskType, config, inputField, labels, tokenization, description, vocab, merges, scores,
            partSize, clearPrevious, maxAttempts, start, deploymentId, allocations, threads, queueCapacity, priority, waitFor, timeout,
        };
        command.Validators.Add(result =>
        {
            var hasTask = result.GetValue(taskType) is not null;
            var hasConfig = result.GetValue(config) is not null;
            if (hasTask == hasConfig) result.AddError("give exactly one of --task-type and --config");
        });
        command.SetAction((parse, cancellationToken) => CommandRun.RunAsync(async () =>
        {
            // Checked here, not in a validator: a validator sees 0 for an option left at its default.
            if (parse.GetValue(maxAttempts) < 1) throw new ArgumentException("--max-attempts must be at least 1");
            var modelConfig = parse.GetValue(config) is { } configFile
                ? ModelConfig.FromFile(configFile.FullName)
                : ModelConfig.ForTask(parse.GetValue(taskType)!, parse.GetValue(inputField)!,
                    parse.GetValue(labels)?.SelectMany(l => l.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)).ToArray(),
                    parse.GetValue(tokenization), parse.GetValue(description));
            var request = new UploadRequest
            {
                ModelId = parse.GetValue(modelId)!,
                ModelFile = parse.GetValue(model)!.FullName,
                Config = modelConfig,
                Vocabulary = parse.GetValue(vocab) is { } vocabFile
                    ? VocabularyFile.Read(vocabFile.FullName, parse.GetValue(merges)?.FullName, parse.GetValue(scores)?.FullName)
                    : null,
                PartSize = parse.GetValue(partSize),
                ClearPrevious = parse.GetValue(clearPrevious),
                Start = parse.GetValue(start)
                    ? new DeploymentSettings
                    {
                        DeploymentId = parse.GetValue(deploymentId),
                        NumberOfAllocations = parse.GetValue(allocations),
                        ThreadsPerAllocation = parse.GetValue(threads),
                        QueueCapacity = parse.GetValue(queueCapacity),
                        Priority = parse.GetValue(priority),
                        WaitFor = parse.GetValue(waitFor),
                        Timeout = parse.GetValue(timeout),
                    }
                    : null,
            };
            using var http = service.Connection(parse).CreateHttpClient();
            var retry = new TransientRetry(RetryPolicy.Default with { MaxAttempts = parse.GetValue(maxAttempts) });
            IUploadProgress progress = Console.IsOutputRedirected ? new LineUploadProgress(Console.Out) : new BarUploadProgress(AnsiConsole.Console);
            await new ModelUploader(new ElasticsearchClient(http), retry, progress, Console.Out).UploadAsync(request, cancellationToken);
        }, cancellationToken));
        return command;
    }
}
