using System.Runtime.InteropServices;

namespace TrainedModelsOrleans.TestModels;

/// <summary>
/// Writes an ONNX ModelProto without Python or protobuf libraries: a graph of nodes, initializers,
/// and typed inputs and outputs. Field numbers are those of onnx/onnx.proto.
/// </summary>
public sealed class OnnxModelBuilder
{
    private readonly List<ProtoWriter> _nodes = [];
    private readonly List<ProtoWriter> _initializers = [];
    private readonly List<ProtoWriter> _inputs = [];
    private readonly List<ProtoWriter> _outputs = [];
    private int _nodeCount;

    public OnnxModelBuilder(string graphName = "graph")
    {
        GraphName = graphName;
    }

    public string GraphName { get; }

    public long IrVersion { get; init; } = 8;

    public long OpsetVersion { get; init; } = 17;

    public string ProducerName { get; init; } = "TrainedModelsOrleans.TestModels";

    public OnnxModelBuilder AddInput(string name, OnnxDataType type, params OnnxDim[] shape)
    {
        _inputs.Add(TensorValueInfo(name, type, shape));
        return this;
    }

    public OnnxModelBuilder AddOutput(string name, OnnxDataType type, params OnnxDim[] shape)
    {
        _outputs.Add(TensorValueInfo(name, type, shape));
        return this;
    }

    /// <summary>An output that is a sequence of tensors (TypeProto.sequence_type).</summary>
    public OnnxModelBuilder AddSequenceOutput(string name, OnnxDataType elementType)
    {
        // TypeProto.sequence_type = 4; Sequence.elem_type = 1 (a TypeProto).
        var sequence = new ProtoWriter().Message(1, TensorType(elementType, shape: null));
        var type = new ProtoWriter().Message(4, sequence);
        _outputs.Add(new ProtoWriter().String(1, name).Message(2, type));
        return this;
    }

    /// <summary>A float initializer stored as raw little-endian bytes (TensorProto.raw_data).</summary>
    public OnnxModelBuilder AddInitializer(string name, ReadOnlySpan<float> data, params long[] dims)
    {
        CheckCount(name, data.Length, dims);
        return AddRawInitializer(name, OnnxDataType.Float, MemoryMarshal.AsBytes(data), dims);
    }

    /// <summary>A float initializer stored in TensorProto.float_data.</summary>
    public OnnxModelBuilder AddFloatDataInitializer(string name, ReadOnlySpan<float> data, params long[] dims)
    {
        CheckCount(name, data.Length, dims);
        _initializers.Add(TensorHeader(name, OnnxDataType.Float, dims).PackedFloat(4, data));
        return this;
    }

    /// <summary>An int64 initializer stored in TensorProto.int64_data.</summary>
    public OnnxModelBuilder AddInitializer(string name, ReadOnlySpan<long> data, params long[] dims)
    {
        CheckCount(name, data.Length, dims);
        _initializers.Add(TensorHeader(name, OnnxDataType.Int64, dims).PackedInt64(7, data));
        return this;
    }

    /// <summary>An initializer of any fixed-size type given as raw little-endian bytes.</summary>
    public OnnxModelBuilder AddRawInitializer(string name, OnnxDataType type, ReadOnlySpan<byte> raw, params long[] dims)
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("raw_data must be little-endian.");
        }

        _initializers.Add(TensorHeader(name, type, dims).Bytes(9, raw));
        return this;
    }

    public OnnxModelBuilder AddNode(string opType, string[] inputs, string[] outputs, params OnnxAttribute[] attributes) =>
        AddNode(opType, inputs, outputs, domain: null, attributes);

    public OnnxModelBuilder AddNode(string opType, string[] inputs, string[] outputs, string? domain, params OnnxAttribute[] attributes)
    {
        // NodeProto: input = 1, output = 2, name = 3, op_type = 4, attribute = 5, domain = 7.
        var node = new ProtoWriter();
        foreach (string input in inputs)
        {
            node.String(1, input);
        }

        foreach (string output in outputs)
        {
            node.String(2, output);
        }

        node.String(3, $"{opType}_{_nodeCount++}").String(4, opType);
        foreach (OnnxAttribute attribute in attributes)
        {
            node.Message(5, attribute.ToProto());
        }

        if (domain is not null)
        {
            node.String(7, domain);
        }

        _nodes.Add(node);
        return this;
    }

    public byte[] Build()
    {
        // GraphProto: node = 1, name = 2, initializer = 5, input = 11, output = 12.
        var graph = new ProtoWriter();
        _nodes.ForEach(n => graph.Message(1, n));
        graph.String(2, GraphName);
        _initializers.ForEach(i => graph.Message(5, i));
        _inputs.ForEach(i => graph.Message(11, i));
        _outputs.ForEach(o => graph.Message(12, o));

        // OperatorSetIdProto: domain = 1, version = 2 ("" is the default ONNX domain).
        var opset = new ProtoWriter().String(1, string.Empty).Int64(2, OpsetVersion);

        // ModelProto: ir_version = 1, producer_name = 2, graph = 7, opset_import = 8.
        return new ProtoWriter()
            .Int64(1, IrVersion)
            .String(2, ProducerName)
            .Message(7, graph)
            .Message(8, opset)
            .ToArray();
    }

    private static ProtoWriter TensorHeader(string name, OnnxDataType type, long[] dims)
    {
        // TensorProto: dims = 1 (repeated, unpacked in proto2), data_type = 2, name = 8.
        var tensor = new ProtoWriter();
        foreach (long dim in dims)
        {
            tensor.Int64(1, dim);
        }

        return tensor.Int64(2, (long)type).String(8, name);
    }

    private static ProtoWriter TensorValueInfo(string name, OnnxDataType type, OnnxDim[] shape)
    {
        // ValueInfoProto: name = 1, type = 2.
        return new ProtoWriter().String(1, name).Message(2, TensorType(type, shape));
    }

    private static ProtoWriter TensorType(OnnxDataType type, OnnxDim[]? shape)
    {
        // TypeProto.tensor_type = 1; Tensor: elem_type = 1, shape = 2.
        var tensor = new ProtoWriter().Int64(1, (long)type);
        if (shape is not null)
        {
            // TensorShapeProto.dim = 1; Dimension: dim_value = 1, dim_param = 2.
            var shapeProto = new ProtoWriter();
            foreach (OnnxDim dim in shape)
            {
                var dimension = new ProtoWriter();
                if (dim.Parameter is not null)
                {
                    dimension.String(2, dim.Parameter);
                }
                else if (dim.Value is long value)
                {
                    dimension.Int64(1, value);
                }

                shapeProto.Message(1, dimension);
            }

            tensor.Message(2, shapeProto);
        }

        return new ProtoWriter().Message(1, tensor);
    }

    private static void CheckCount(string name, int count, long[] dims)
    {
        long expected = 1;
        foreach (long dim in dims)
        {
            expected *= dim;
        }

        if (expected != count)
        {
            throw new ArgumentException($"Initializer '{name}' has {count} values but dims [{string.Join(",", dims)}] need {expected}.");
        }
    }
}
