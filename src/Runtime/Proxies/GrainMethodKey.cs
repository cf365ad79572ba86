using System.Reflection;
using System.Text;

namespace TrainedModelsOrleans.Runtime.Proxies;

/// <summary>
/// The name a grain method travels under between processes: "Interface.Method(ParamType,…)", with type
/// names short and generic arguments spelled out, so overloads differ and silos and clients agree
/// without sharing anything but the interface assembly.
/// </summary>
public static class GrainMethodKey
{
    public static string Of(MethodInfo method)
    {
        var key = new StringBuilder();
        key.Append(method.DeclaringType!.Name).Append('.').Append(method.Name).Append('(');
        var parameters = method.GetParameters();
        for (var i = 0; i < parameters.Length; i++)
        {
            if (i > 0) key.Append(',');
            AppendType(key, parameters[i].ParameterType);
        }
        return key.Append(')').ToString();
    }

    private static void AppendType(StringBuilder key, Type type)
    {
        if (type.IsArray)
        {
            AppendType(key, type.GetElementType()!);
            key.Append('[').Append(',', type.GetArrayRank() - 1).Append(']');
            return;
        }
        var name = type.Name;
        var tick = name.IndexOf('`');
        key.Append(tick >= 0 ? name[..tick] : name);
        if (!type.IsGenericType) return;
        key.Append('<');
        var arguments = type.GetGenericArguments();
        for (var i = 0; i < arguments.Length; i++)
        {
            if (i > 0) key.Append(',');
            AppendType(key, arguments[i]);
        }
        key.Append('>');
    }

    /// <summary>What a method's Task / ValueTask completes with; null for Task and ValueTask.</summary>
    public static Type? ResultTypeOf(MethodInfo method)
    {
        var returnType = method.ReturnType;
        if (returnType == typeof(Task) || returnType == typeof(ValueTask)) return null;
        if (returnType.IsGenericType && (returnType.GetGenericTypeDefinition() == typeof(Task<>) || returnType.GetGenericTypeDefinition() == typeof(ValueTask<>)))
            return returnType.GetGenericArguments()[0];
        throw new InvalidOperationException(
            $"Grain method {method.DeclaringType}.{method.Name} must return Task, Task<T>, ValueTask or ValueTask<T>.");
    }
}
