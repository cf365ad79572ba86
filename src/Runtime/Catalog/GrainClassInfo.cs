using System.Collections.Frozen;
using System.Reflection;
using TrainedModelsOrleans.Runtime.Proxies;
using TrainedModelsOrleans.Runtime.Statistics;

namespace TrainedModelsOrleans.Runtime.Catalog;

/// <summary>Everything the runtime needs to know about one grain class, computed once at start-up.</summary>
internal sealed class GrainClassInfo
{
    public GrainClassInfo(Type classType, IEnumerable<Type> grainInterfaces, TimeSpan defaultTimeout)
    {
        ClassType = classType;
        TypeName = GrainTypeName(classType);
        IsReentrant = classType.GetCustomAttribute<ReentrantAttribute>() is not null;
        StatelessWorkerMax = classType.GetCustomAttribute<StatelessWorkerAttribute>()?.MaxLocalWorkers;
        PlacedOnSiloNamedByKey = classType.GetCustomAttribute<PlaceOnSiloNamedByKeyAttribute>() is not null;
        Constructor = ChooseConstructor(classType);
        Statistics = new GrainTypeStatistics(TypeName);

        var methods = new Dictionary<MethodInfo, GrainMethod>();
        foreach (var iface in grainInterfaces)
        foreach (var method in AllMethods(iface))
        {
            if (methods.ContainsKey(method)) continue;
            var timeout = method.GetCustomAttribute<ResponseTimeoutAttribute>()?.Timeout ?? defaultTimeout;
            methods[method] = GrainMethod.Create(this, method, timeout);
        }
        Methods = methods.ToFrozenDictionary();
        MethodsByKey = methods.Values.ToFrozenDictionary(m => m.Key, StringComparer.Ordinal);
    }

    public Type ClassType { get; }
    public string TypeName { get; }
    public bool IsReentrant { get; }
    public int? StatelessWorkerMax { get; }
    public bool PlacedOnSiloNamedByKey { get; }
    public ConstructorInfo Constructor { get; }
    public FrozenDictionary<MethodInfo, GrainMethod> Methods { get; }

    /// <summary>The same methods by their wire names, for calls that arrive from other processes.</summary>
    public FrozenDictionary<string, GrainMethod> MethodsByKey { get; }
    public GrainTypeStatistics Statistics { get; }

    /// <summary>Orleans' default: the class name, lower-cased, without a trailing "Grain"; [GrainType] overrides.</summary>
    public static string GrainTypeName(Type classType)
    {
        var explicitName = classType.GetCustomAttribute<GrainTypeAttribute>(inherit: false)?.Name;
        if (explicitName is not null) return explicitName;
        var name = classType.Name;
        var tick = name.IndexOf('`');
        if (tick >= 0) name = name[..tick];
        if (name.EndsWith("Grain", StringComparison.Ordinal) && name.Length > "Grain".Length) name = name[..^"Grain".Length];
        return name.ToLowerInvariant();
    }

    private static IEnumerable<MethodInfo> AllMethods(Type iface) =>
        iface.GetMethods().Concat(iface.GetInterfaces().Where(i => typeof(IGrain).IsAssignableFrom(i)).SelectMany(i => i.GetMethods()));

    private static ConstructorInfo ChooseConstructor(Type classType)
    {
        var constructors = classType.GetConstructors(BindingFlags.Public | BindingFlags.Instance);
        if (constructors.Length == 0) throw new InvalidOperationException($"Grain class {classType} has no public constructor.");
        return constructors.OrderByDescending(c => c.GetParameters().Length).First();
    }
}
