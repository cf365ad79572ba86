using System.Linq.Expressions;
using System.Reflection;
using TrainedModelsOrleans.Runtime.Catalog;
using TrainedModelsOrleans.Runtime.Statistics;

namespace TrainedModelsOrleans.Runtime.Proxies;

/// <summary>
/// One grain interface method: how a proxy turns a call into a request, and how an activation runs it.
/// The invoker is a compiled expression, so a call costs no reflection.
/// </summary>
internal abstract class GrainMethod
{
    protected GrainMethod(GrainClassInfo grainClass, MethodInfo method, TimeSpan timeout)
    {
        GrainClass = grainClass;
        Name = method.Name;
        Key = GrainMethodKey.Of(method);
        ParameterTypes = method.GetParameters().Select(p => p.ParameterType).ToArray();
        Timeout = timeout;
        Statistics = new MethodStatistics(grainClass.TypeName, method.DeclaringType!.Name + "." + method.Name);
    }

    public GrainClassInfo GrainClass { get; }
    public string Name { get; }

    /// <summary>The method's name on the wire (see <see cref="GrainMethodKey"/>).</summary>
    public string Key { get; }

    public IReadOnlyList<Type> ParameterTypes { get; }

    /// <summary>What the request completes with (<see cref="VoidResult"/> for Task and ValueTask).</summary>
    public abstract Type ResultType { get; }

    public TimeSpan Timeout { get; }
    public MethodStatistics Statistics { get; }

    /// <summary>Sends the call and returns what the interface method returns (a Task or ValueTask).</summary>
    public abstract object Call(IGrainCallSink sink, GrainId target, object?[] arguments, string? onSilo);

    /// <summary>A request that arrived from another process, bounded by the caller's remaining deadline.</summary>
    public abstract GrainRequest CreateRequest(object?[] arguments, TimeSpan timeout, string? onSilo);

    public static GrainMethod Create(GrainClassInfo grainClass, MethodInfo method, TimeSpan timeout)
    {
        var returnType = method.ReturnType;
        ReturnKind kind;
        Type resultType;
        if (returnType == typeof(Task)) (kind, resultType) = (ReturnKind.Task, typeof(VoidResult));
        else if (returnType == typeof(ValueTask)) (kind, resultType) = (ReturnKind.ValueTask, typeof(VoidResult));
        else if (returnType.IsGenericType && returnType.GetGenericTypeDefinition() == typeof(Task<>))
            (kind, resultType) = (ReturnKind.TaskOfT, returnType.GetGenericArguments()[0]);
        else if (returnType.IsGenericType && returnType.GetGenericTypeDefinition() == typeof(ValueTask<>))
            (kind, resultType) = (ReturnKind.ValueTaskOfT, returnType.GetGenericArguments()[0]);
        else
            throw new InvalidOperationException(
                $"Grain method {method.DeclaringType}.{method.Name} must return Task, Task<T>, ValueTask or ValueTask<T>.");

        var invoker = CompileInvoker(method, kind, resultType);
        var typed = typeof(GrainMethod<>).MakeGenericType(resultType);
        return (GrainMethod)Activator.CreateInstance(typed, grainClass, method, timeout, kind, invoker)!;
    }

    /// <summary>(object grain, object?[] args) => Task&lt;TResult&gt; calling the interface method.</summary>
    private static Delegate CompileInvoker(MethodInfo method, ReturnKind kind, Type resultType)
    {
        var grain = Expression.Parameter(typeof(object), "grain");
        var args = Expression.Parameter(typeof(object?[]), "args");
        var parameters = method.GetParameters();
        var callArgs = parameters.Select((p, i) =>
            (Expression)Expression.Convert(Expression.ArrayIndex(args, Expression.Constant(i)), p.ParameterType));
        Expression call = Expression.Call(Expression.Convert(grain, method.DeclaringType!), method, callArgs);
        call = kind switch
        {
            ReturnKind.Task => Expression.Call(typeof(GrainMethod).GetMethod(nameof(FromTask), BindingFlags.NonPublic | BindingFlags.Static)!, call),
            ReturnKind.ValueTask => Expression.Call(typeof(GrainMethod).GetMethod(nameof(FromValueTask), BindingFlags.NonPublic | BindingFlags.Static)!, call),
            ReturnKind.ValueTaskOfT => Expression.Call(call, call.Type.GetMethod(nameof(ValueTask<int>.AsTask))!),
            _ => call,
        };
        var delegateType = typeof(Func<,,>).MakeGenericType(typeof(object), typeof(object?[]), typeof(Task<>).MakeGenericType(resultType));
        return Expression.Lambda(delegateType, call, grain, args).Compile();
    }

    private static Task<VoidResult> FromTask(Task task) =>
        task.IsCompletedSuccessfully ? VoidResult.CompletedTask : AwaitTask(task);

    private static Task<VoidResult> FromValueTask(ValueTask task) =>
        task.IsCompletedSuccessfully ? VoidResult.CompletedTask : AwaitTask(task.AsTask());

    private static async Task<VoidResult> AwaitTask(Task task)
    {
        await task.ConfigureAwait(continueOnCapturedContext: true);
        return default;
    }
}

internal enum ReturnKind { Task, TaskOfT, ValueTask, ValueTaskOfT }

/// <summary>The result type of methods that return a plain Task.</summary>
internal readonly struct VoidResult
{
    public static readonly Task<VoidResult> CompletedTask = Task.FromResult(default(VoidResult));
}

internal sealed class GrainMethod<TResult>(
    GrainClassInfo grainClass, MethodInfo method, TimeSpan timeout, ReturnKind kind, Func<object, object?[], Task<TResult>> invoker)
    : GrainMethod(grainClass, method, timeout)
{
    public Func<object, object?[], Task<TResult>> Invoker { get; } = invoker;

    public override Type ResultType => typeof(TResult);

    public override GrainRequest CreateRequest(object?[] arguments, TimeSpan timeout, string? onSilo) =>
        // A negative timeout is the wire's "no deadline": the method's own bound applies.
        new GrainRequest<TResult>(this, arguments, timeout >= TimeSpan.Zero && timeout < Timeout ? timeout : Timeout) { OnSilo = onSilo };

    public override object Call(IGrainCallSink sink, GrainId target, object?[] arguments, string? onSilo)
    {
        var request = new GrainRequest<TResult>(this, arguments, Timeout) { OnSilo = onSilo };
        sink.Send(target, GrainClass, request);
        var task = request.TypedCompletion;
        return kind switch
        {
            ReturnKind.Task or ReturnKind.TaskOfT => task,
            ReturnKind.ValueTask => new ValueTask(task),
            _ => new ValueTask<TResult>(task),
        };
    }
}

/// <summary>Where proxies hand requests: the local silo's dispatcher (and later a remote transport).</summary>
internal interface IGrainCallSink
{
    void Send(GrainId target, GrainClassInfo grainClass, GrainRequest request);
}
