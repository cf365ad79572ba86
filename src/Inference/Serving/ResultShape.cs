namespace TrainedModelsOrleans.Inference.Serving;

/// <summary>
/// What a caller of <see cref="InferenceExecutor"/> wants for a request's outputs and failures (its own
/// contract types and errors). Applied on the thread that ran the model, just before the caller resumes:
/// keep it cheap and free of the caller's state.
/// </summary>
public abstract class ResultShape<TResult>
{
    public abstract TResult Result(Tensor[] outputs);

    public virtual Exception Error(Exception error) => error;
}

public static class ResultShape
{
    /// <summary>The outputs and errors as the executor makes them.</summary>
    public static ResultShape<Tensor[]> AsIs { get; } = new Identity();

    private sealed class Identity : ResultShape<Tensor[]>
    {
        public override Tensor[] Result(Tensor[] outputs) => outputs;
    }
}
