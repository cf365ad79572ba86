namespace TrainedModelsOrleans.TestModels;

/// <summary>One dimension of a declared shape: a fixed size or a symbolic name such as "batch".</summary>
public readonly struct OnnxDim
{
    private OnnxDim(long? value, string? parameter)
    {
        Value = value;
        Parameter = parameter;
    }

    public long? Value { get; }

    public string? Parameter { get; }

    public static OnnxDim Fixed(long value) => new(value, null);

    public static OnnxDim Symbolic(string name) => new(null, name);

    public static implicit operator OnnxDim(long value) => Fixed(value);

    public static implicit operator OnnxDim(int value) => Fixed(value);

    public static implicit operator OnnxDim(string name) => Symbolic(name);

    public override string ToString() => Parameter ?? Value?.ToString() ?? "?";
}
