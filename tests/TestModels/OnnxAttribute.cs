namespace TrainedModelsOrleans.TestModels;

/// <summary>A node attribute (AttributeProto): a float, an int, a string, or lists of floats or ints.</summary>
public sealed class OnnxAttribute
{
    // AttributeProto.AttributeType
    private const int FloatType = 1;
    private const int IntType = 2;
    private const int StringType = 3;
    private const int FloatsType = 6;
    private const int IntsType = 7;

    private readonly Action<ProtoWriter> _writeValue;

    private OnnxAttribute(string name, int type, Action<ProtoWriter> writeValue)
    {
        Name = name;
        Type = type;
        _writeValue = writeValue;
    }

    public string Name { get; }

    internal int Type { get; }

    public static OnnxAttribute Float(string name, float value) => new(name, FloatType, w => w.Float(2, value));

    public static OnnxAttribute Int(string name, long value) => new(name, IntType, w => w.Int64(3, value));

    public static OnnxAttribute String(string name, string value) => new(name, StringType, w => w.String(4, value));

    // proto2 repeated scalars without [packed=true] are written one element per tag.
    public static OnnxAttribute Floats(string name, params float[] values) =>
        new(name, FloatsType, w => Array.ForEach(values, v => w.Float(7, v)));

    public static OnnxAttribute Ints(string name, params long[] values) =>
        new(name, IntsType, w => Array.ForEach(values, v => w.Int64(8, v)));

    internal ProtoWriter ToProto()
    {
        // AttributeProto: name = 1, type = 20, f = 2, i = 3, s = 4, floats = 7, ints = 8.
        var writer = new ProtoWriter().String(1, Name).Int64(20, Type);
        _writeValue(writer);
        return writer;
    }
}
