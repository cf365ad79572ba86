using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.Models;

namespace TrainedModelsOrleans.Grains.Serving;

/// <summary>
/// Tensor inference for a front end co-hosted with a silo (the HTTP API), without a grain call of its own:
/// the id resolves from this silo's view, and the request runs on this node's executor when the router
/// chooses this node, else through the chosen node's worker grain (the one grain call). Anything but the
/// plain case (unknown id, a deployment not ready, a tree model) resolves to null, and the caller takes the
/// general path through <see cref="IInferenceGrain"/>, which answers it as Elasticsearch does. The inference
/// grain runs its own tensor requests through here too, so both front doors choose and run alike.
/// </summary>
public sealed class DirectInference(InferenceTargets targets, InferenceRouter router)
{
    private long _ranHere;

    /// <summary>Short-way requests run on this node's executor with no grain call at all (tests read it to see the short way taken).</summary>
    public long RanHere => Volatile.Read(ref _ranHere);

    /// <summary>The ready deployment <paramref name="id"/> reaches in this silo's view if it needs no refresh, with its model's input signature; or null.</summary>
    public TensorTarget? ResolveFresh(string id) => targets.Fresh is { } snapshot ? Resolve(snapshot, id) : null;

    /// <summary>The ready ONNX deployment <paramref name="id"/> reaches now, with its model's input signature; or null.</summary>
    public ValueTask<TensorTarget?> ResolveAsync(string id) =>
        targets.Fresh is { } snapshot ? ValueTask.FromResult(Resolve(snapshot, id)) : ResolveFreshAsync(id);

    private async ValueTask<TensorTarget?> ResolveFreshAsync(string id) => Resolve(await targets.CurrentAsync(), id);

    private static TensorTarget? Resolve(InferenceTargets.Snapshot snapshot, string id) => snapshot.Resolve(id).Pick()?.TensorTarget;

    /// <summary>The short way's run: the docs (one queue entry each) where the router chooses; errors are Elasticsearch's.</summary>
    public Task<InferenceTensor[][]> InferTensorsAsync(TensorTarget target, InferenceTensor[][] docs, TimeSpan timeout) =>
        RunAsync(target.Deployment, docs, timeout, countHere: true);

    /// <summary>The same for the inference grain's requests (not counted in <see cref="RanHere"/>).</summary>
    public Task<InferenceTensor[][]> InferTensorsAsync(TrainedModelAssignment deployment, InferenceTensor[][] docs, TimeSpan timeout) =>
        RunAsync(deployment, docs, timeout, countHere: false);

    /// <summary>Here without a closure when the router chooses this node, else through the chosen node's worker.</summary>
    private Task<InferenceTensor[][]> RunAsync(TrainedModelAssignment deployment, InferenceTensor[][] docs, TimeSpan timeout, bool countHere)
    {
        if (router.TryChooseLocal(deployment, out var served))
        {
            if (countHere) Interlocked.Increment(ref _ranHere);
            return ServedRequests.InferTensorsAsync(served, docs, timeout);
        }
        return router.RunAsync(deployment,
            local => ServedRequests.InferTensorsAsync(local, docs, timeout),
            worker => worker.InferTensors(docs, timeout));
    }
}

/// <summary>A deployment a tensor request may go to, and the inputs its model takes.</summary>
public sealed record TensorTarget(TrainedModelAssignment Deployment, OnnxModelSignature Signature);
