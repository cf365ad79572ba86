using System.Collections.Concurrent;
using System.Reflection;

namespace TrainedModelsOrleans.Runtime.Catalog;

/// <summary>Maps grain interfaces to the classes that implement them (one class per interface).</summary>
internal sealed class GrainManifest
{
    private readonly Dictionary<Type, GrainClassInfo> _byInterface = new();
    private readonly Dictionary<string, GrainClassInfo> _byTypeName = new(StringComparer.Ordinal);
    private readonly Dictionary<string, GrainClassInfo> _byInterfaceName = new(StringComparer.Ordinal);

    public GrainManifest(IEnumerable<Assembly> assemblies, TimeSpan defaultTimeout)
    {
        var inherited = new Dictionary<Type, List<GrainClassInfo>>();
        foreach (var type in assemblies.Distinct().SelectMany(SafeTypes))
        {
            if (!type.IsClass || type.IsAbstract || !typeof(Grain).IsAssignableFrom(type)) continue;
            var interfaces = type.GetInterfaces()
                .Where(i => typeof(IGrain).IsAssignableFrom(i) && i != typeof(IGrain) && i != typeof(IGrainWithStringKey))
                .ToArray();
            if (interfaces.Length == 0) continue;
            var info = new GrainClassInfo(type, interfaces, defaultTimeout);
            if (!_byTypeName.TryAdd(info.TypeName, info))
                throw new InvalidOperationException($"Grain type name '{info.TypeName}' is used by {type} and {_byTypeName[info.TypeName].ClassType}.");

            // An interface that another of the class's interfaces extends is only inherited: it names
            // this class only when no other class implements it as its own.
            foreach (var iface in interfaces)
            {
                var isBase = interfaces.Any(other => other != iface && iface.IsAssignableFrom(other));
                if (isBase)
                {
                    (inherited.TryGetValue(iface, out var list) ? list : inherited[iface] = new()).Add(info);
                }
                else if (!_byInterface.TryAdd(iface, info))
                {
                    throw new InvalidOperationException($"Grain interface {iface} is implemented by both {_byInterface[iface].ClassType} and {type}.");
                }
            }
        }
        foreach (var (iface, classes) in inherited)
            if (!_byInterface.ContainsKey(iface) && classes.Count == 1) _byInterface[iface] = classes[0];
        foreach (var (iface, info) in _byInterface) _byInterfaceName[iface.FullName!] = info;
    }

    public IReadOnlyCollection<GrainClassInfo> Classes => _byTypeName.Values;

    public GrainClassInfo ForInterface(Type grainInterface) =>
        _byInterface.TryGetValue(grainInterface, out var info)
            ? info
            : throw new InvalidOperationException($"No grain class implements {grainInterface}. Was its assembly added to the runtime?");

    public bool TryGetByTypeName(string typeName, out GrainClassInfo info) => _byTypeName.TryGetValue(typeName, out info!);

    /// <summary>A call from another process names its target by grain type (silos) or interface full name (clients).</summary>
    public bool TryResolve(string typeOrInterfaceName, out GrainClassInfo info) =>
        _byTypeName.TryGetValue(typeOrInterfaceName, out info!) || _byInterfaceName.TryGetValue(typeOrInterfaceName, out info!);

    private static IEnumerable<Type> SafeTypes(Assembly assembly)
    {
        try { return assembly.GetTypes(); }
        catch (ReflectionTypeLoadException e) { return e.Types.OfType<Type>(); }
    }
}
