using Microsoft.Extensions.Logging;
using Orleans;
using System.Collections.Concurrent;
using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.Inference.Nlp;
using TrainedModelsOrleans.Grains.ModelStore;
using TrainedModelsOrleans.Inference.OnnxRuntime;
using TrainedModelsOrleans.Inference.Serving;
using TrainedModelsOrleans.Inference.Sessions;

namespace TrainedModelsOrleans.Grains.Serving;

/// <summary>
/// The deployments this node serves: for each, one shared ONNX Runtime session (one copy of the weights,
/// intra-op threads = threads_per_allocation) and one executor whose allocations are this node's share.
/// </summary>
public sealed class DeploymentServing(
    SharedSessions sessions, ModelStoreTables models, IGrainFactory grains, ServingOptions options, ServingMetrics metrics, LocalNode node,
    ILogger<DeploymentServing> logger)
{
    private readonly ConcurrentDictionary<string, ServedDeployment> _served = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _changes = new(1, 1);

    public IReadOnlyCollection<string> DeploymentIds => _served.Keys.ToArray();

    public bool TryGet(string deploymentId, out ServedDeployment served) => _served.TryGetValue(deploymentId, out served!);

    /// <summary>Opens the model for the route if needed, and sizes its executor to the route's allocations.</summary>
    public async Task<ServedDeployment> EnsureAsync(NodeRoute route, CancellationToken cancellationToken = default)
    {
        await _changes.WaitAsync(cancellationToken);
        try
        {
            if (_served.TryGetValue(route.DeploymentId, out var existing) && !existing.Executor.IsStopped)
            {
                var allocations = existing.Executor.Options.Allocations;
                if (allocations != route.Allocations)
                {
                    existing.Executor.Resize(route.Allocations);
                    ControlPlaneLog.AllocationResized(logger, route.DeploymentId, node.Name, allocations, route.Allocations, "resized");
                }
                return existing;
            }
            var session = await sessions.GetOrOpenAsync(route.DeploymentId, async ct =>
            {
                var parts = await models.ReadPartsAsync(route.ModelId, ct);
                return parts.Values.SelectMany(p => p).ToArray();
            }, new OnnxSessionOptions { IntraOpThreads = route.ThreadsPerAllocation, InterOpThreads = 1, AllowSpinning = false }, cancellationToken);

            var onnx = session.Session;
            var batchable = onnx.Inputs.All(HasBatchDimension) && onnx.Outputs.All(HasBatchDimension);
            var executor = new InferenceExecutor(
                (inputs, terminated) => Run(onnx, inputs, terminated),
                new ExecutorOptions
                {
                    Allocations = route.Allocations,
                    QueueCapacity = route.QueueCapacity,
                    MaxBatchSize = options.MaxBatchSize,
                    MaxBatchWait = options.MaxBatchWait,
                    CacheSizeBytes = route.CacheSizeBytes,
                },
                batchable,
                measurements: metrics.MeasurementsFor(route.DeploymentId));
            var served = new ServedDeployment(route, session, executor, new Lazy<Task<NlpTaskOnNode>>(() => LoadNlpAsync(route, onnx)));
            _served[route.DeploymentId] = served;
            metrics.Track(route.DeploymentId, executor);
            ControlPlaneLog.AllocationStarted(logger, route.DeploymentId, node.Name, route.Allocations, route.ThreadsPerAllocation, "started");
            return served;
        }
        finally
        {
            _changes.Release();
        }
    }

    /// <summary>Stops serving the deployment here (draining or failing the queue) and closes its session.</summary>
    public async Task StopAsync(string deploymentId, bool finishPendingWork, CancellationToken cancellationToken = default)
    {
        if (_served.TryGetValue(deploymentId, out var served))
        {
            await served.Executor.StopAsync(finishPendingWork, cancellationToken);
            metrics.Untrack(deploymentId, served.Executor);
            // Only when this stop removed it: a start racing it may already serve a newer executor here.
            if (_served.TryRemove(new KeyValuePair<string, ServedDeployment>(deploymentId, served)))
                ControlPlaneLog.AllocationRemoved(logger, deploymentId, node.Name, finishPendingWork ? "stopped, queue drained" : "stopped, queue dropped");
        }
        await sessions.CloseAsync(deploymentId);
    }

    /// <summary>The model's NLP task (config + vocabulary + this session's inputs), built on first text request.</summary>
    private async Task<NlpTaskOnNode> LoadNlpAsync(NodeRoute route, OnnxSession session)
    {
        var config = await grains.GetGrain<ITrainedModelGrain>(route.ModelId).GetConfig();
        if (config is null) throw Errors.ElasticsearchException.NotFound($"Could not find trained model [{route.ModelId}]");
        var vocabulary = await models.ReadVocabularyAsync(route.ModelId, CancellationToken.None)
                         ?? throw Errors.ElasticsearchException.Conflict(
                             $"Trained model [{route.ModelId}] has no vocabulary; upload it with PUT _ml/trained_models/{route.ModelId}/vocabulary, or send tensor docs");
        return new NlpTaskOnNode(NlpTask.For(config, vocabulary), NlpModelInputs.Describe(session.Inputs));
    }

    /// <summary>One model run; cancelling the token terminates it (the executor does once all its requests gave up).</summary>
    private static Tensor[] Run(OnnxSession session, IReadOnlyList<Tensor> inputs, CancellationToken terminated)
    {
        var feeds = new OnnxInput[inputs.Count];
        for (var i = 0; i < feeds.Length; i++) feeds[i] = inputs[i].ToInput();
        var outputs = session.Run(feeds, terminated);
        var results = new Tensor[outputs.Length];
        for (var i = 0; i < results.Length; i++) results[i] = Tensor.FromOutput(outputs[i]);
        return results;
    }

    private static bool HasBatchDimension(OnnxTensorDescription tensor) => tensor.IsTensor && tensor.Shape.Length > 0 && tensor.Shape[0] < 0;
}

public sealed record ServedDeployment(NodeRoute Route, OpenSession Session, InferenceExecutor Executor, Lazy<Task<NlpTaskOnNode>> Nlp)
{
    public ResultShape<InferenceTensor[][]> OneTensorDoc { get; } = ServedRequests.OneTensorDocShape(Route.DeploymentId);
}

public sealed record NlpTaskOnNode(NlpTask Task, NlpModelInputs Inputs);
