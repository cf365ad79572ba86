using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using TrainedModelsOrleans.Runtime.Persistence;

namespace TrainedModelsOrleans.Runtime.Catalog;

/// <summary>
/// Builds grain instances: constructor parameters come from DI, except [PersistentState] ones,
/// which are bound to the activation's identity and loaded before OnActivateAsync.
/// </summary>
internal sealed class GrainActivator(IServiceProvider services, GrainStorage storage)
{
    private static readonly MethodInfo CreateStateMethod =
        typeof(GrainActivator).GetMethod(nameof(CreateState), BindingFlags.NonPublic | BindingFlags.Instance)!;

    public (Grain Instance, IReadOnlyList<IPersistentStateLoader> States) Create(ActivationData activation)
    {
        var parameters = activation.GrainClass.Constructor.GetParameters();
        var arguments = new object?[parameters.Length];
        var states = new List<IPersistentStateLoader>();
        for (var i = 0; i < parameters.Length; i++)
        {
            var parameter = parameters[i];
            var attribute = parameter.GetCustomAttribute<PersistentStateAttribute>();
            if (attribute is not null)
            {
                var stateType = PersistentStateType(parameter);
                var state = (IPersistentStateLoader)CreateStateMethod.MakeGenericMethod(stateType)
                    .Invoke(this, [activation.Id, attribute.StateName])!;
                states.Add(state);
                arguments[i] = state;
            }
            else
            {
                arguments[i] = services.GetService(parameter.ParameterType)
                               ?? (parameter.HasDefaultValue
                                   ? parameter.DefaultValue
                                   : throw new InvalidOperationException(
                                       $"Cannot activate {activation.GrainClass.ClassType}: no service for constructor parameter {parameter.Name} ({parameter.ParameterType})."));
            }
        }
        var instance = (Grain)activation.GrainClass.Constructor.Invoke(arguments);
        instance.Activation = activation;
        return (instance, states);
    }

    private PersistentState<T> CreateState<T>(GrainId id, string stateName) where T : new() => new(storage, id, stateName);

    private static Type PersistentStateType(ParameterInfo parameter)
    {
        var type = parameter.ParameterType;
        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(IPersistentState<>)) return type.GetGenericArguments()[0];
        throw new InvalidOperationException($"[PersistentState] parameter {parameter.Name} must be IPersistentState<T>, not {type}.");
    }
}
