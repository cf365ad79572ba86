namespace TrainedModelsOrleans.Runtime.Catalog;

/// <summary>
/// Local activations of one stateless worker id (never in the directory): the first idle worker in
/// creation order takes a call; a new worker is added while all are busy and the pool is below its
/// bound; a full pool sends the call to the least loaded worker.
/// </summary>
internal sealed class StatelessWorkerPool(GrainId id, GrainClassInfo grainClass, ISiloRuntime runtime, int maxWorkers)
{
    private readonly object _lock = new();
    private ActivationData[] _workers = [];

    public int Count => Volatile.Read(ref _workers).Length;

    public ActivationData Choose()
    {
        // One pass: the first idle worker, else the least loaded one.
        var workers = Volatile.Read(ref _workers);
        ActivationData? best = null;
        var bestLoad = int.MaxValue;
        foreach (var worker in workers)
        {
            if (worker.State == ActivationState.Invalid) continue;
            var load = worker.Load;
            if (load == 0) return worker;
            if (load < bestLoad) (best, bestLoad) = (worker, load);
        }
        if (best is null || workers.Length < maxWorkers)
        {
            lock (_lock)
            {
                workers = _workers;
                if (workers.Length < maxWorkers)
                {
                    var created = new ActivationData(id, grainClass, runtime, registerInDirectory: false);
                    _workers = [.. workers, created];
                    created.Activate();
                    return created;
                }
            }
        }
        return best ?? workers[0];
    }

    public void Remove(ActivationData worker)
    {
        lock (_lock) _workers = _workers.Where(w => !ReferenceEquals(w, worker)).ToArray();
    }

    public IReadOnlyList<ActivationData> Workers => Volatile.Read(ref _workers);
}
