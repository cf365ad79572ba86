namespace TrainedModelsOrleans.Runtime;

/// <summary>Requests of this grain may interleave at await points; still one turn at a time.</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = true)]
public sealed class ReentrantAttribute : Attribute;

/// <summary>
/// A pool of up to <see cref="MaxLocalWorkers"/> activations per silo and key, never registered in
/// the grain directory. The default (-1) means Environment.ProcessorCount, as in Orleans.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = true)]
public sealed class StatelessWorkerAttribute(int maxLocalWorkers = -1) : Attribute
{
    public int MaxLocalWorkers { get; } = maxLocalWorkers > 0 ? maxLocalWorkers : Environment.ProcessorCount;
}

/// <summary>Names the grain type; the default is the class name, lower-cased, without a trailing "Grain".</summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
public sealed class GrainTypeAttribute(string name) : Attribute
{
    public string Name { get; } = name;
}

/// <summary>Marks a grain constructor parameter of type IPersistentState&lt;T&gt; to be loaded before activation.</summary>
[AttributeUsage(AttributeTargets.Parameter)]
public sealed class PersistentStateAttribute(string stateName, string storageName = "Default") : Attribute
{
    public string StateName { get; } = stateName;
    public string StorageName { get; } = storageName;
}

/// <summary>Overrides the call deadline for one interface method, e.g. [ResponseTimeout("00:02:00")].</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class ResponseTimeoutAttribute(string timeout) : Attribute
{
    public TimeSpan Timeout { get; } = TimeSpan.Parse(timeout, System.Globalization.CultureInfo.InvariantCulture);
}

/// <summary>
/// The grain's key is the name of a silo, and its one activation lives on that silo (a per-silo
/// singleton). It is never put in the grain directory; a call while that silo is not alive fails fast.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = true)]
public sealed class PlaceOnSiloNamedByKeyAttribute : Attribute;
