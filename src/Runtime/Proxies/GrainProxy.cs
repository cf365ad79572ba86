using System.Reflection;
using TrainedModelsOrleans.Runtime.Catalog;

namespace TrainedModelsOrleans.Runtime.Proxies;

/// <summary>The typed reference GetGrain returns: turns interface calls into requests (Orleans' GrainReference).</summary>
public class GrainProxy : DispatchProxy
{
    private IGrainCallSink _sink = null!;
    private GrainClassInfo _grainClass = null!;
    private string? _onSilo;

    public GrainId GrainId { get; private set; }

    internal static TInterface Create<TInterface>(IGrainCallSink sink, GrainClassInfo grainClass, string key, string? onSilo = null)
    {
        var proxy = Create<TInterface, GrainProxy>();
        var self = (GrainProxy)(object)proxy!;
        self._sink = sink;
        self._grainClass = grainClass;
        self.GrainId = new GrainId(grainClass.TypeName, key);
        self._onSilo = onSilo;
        return proxy;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        if (!_grainClass.Methods.TryGetValue(targetMethod, out var method))
        {
            if (targetMethod.Name == nameof(ToString) && targetMethod.GetParameters().Length == 0) return GrainId.ToString();
            throw new NotSupportedException($"{targetMethod.DeclaringType}.{targetMethod.Name} is not a grain method.");
        }
        return method.Call(_sink, GrainId, args ?? [], _onSilo);
    }

    public override string ToString() => GrainId.ToString();
}
