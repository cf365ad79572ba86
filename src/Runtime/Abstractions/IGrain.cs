namespace TrainedModelsOrleans.Runtime;

/// <summary>Marker for grain interfaces. Every method returns Task, Task&lt;T&gt;, ValueTask or ValueTask&lt;T&gt;.</summary>
public interface IGrain;

/// <summary>A grain addressed by a string key (scoped to its grain type).</summary>
public interface IGrainWithStringKey : IGrain;

/// <summary>Hands out typed references; a reference is cheap and always valid (virtual actors).</summary>
public interface IGrainFactory
{
    TGrainInterface GetGrain<TGrainInterface>(string primaryKey) where TGrainInterface : IGrainWithStringKey;

    /// <summary>
    /// A [StatelessWorker] grain's local worker on the named silo: the caller has routed the work there
    /// (e.g. to the silo with the shortest queue). Fails fast when that silo is not alive.
    /// </summary>
    TGrainInterface GetStatelessWorker<TGrainInterface>(string primaryKey, string silo) where TGrainInterface : IGrainWithStringKey;
}

/// <summary>What a process outside (or inside) a silo uses to call grains.</summary>
public interface IClusterClient : IGrainFactory;
