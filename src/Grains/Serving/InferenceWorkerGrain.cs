using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.ModelStore;
using TrainedModelsOrleans.Inference.OnnxRuntime;
using TrainedModelsOrleans.Inference.Sessions;
using TrainedModelsOrleans.Runtime;

namespace TrainedModelsOrleans.Grains.Serving;

[StatelessWorker]
public sealed class InferenceWorkerGrain(SharedSessions sessions, ModelStoreTables models) : Grain, IInferenceWorkerGrain
{
    private string DeploymentId => GetPrimaryKeyString();

    public async Task Open(NodeRoute route)
    {
        var options = new OnnxSessionOptions
        {
            IntraOpThreads = route.ThreadsPerAllocation,
            InterOpThreads = 1,
            AllowSpinning = false,
        };
        await sessions.GetOrOpenAsync(DeploymentId, async ct =>
        {
            var parts = await models.ReadPartsAsync(route.ModelId, ct);
            return parts.Values.SelectMany(p => p).ToArray();
        }, options, CancellationToken.None);
    }

    public Task Close() => sessions.CloseAsync(DeploymentId);
}
