using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace TrainedModelsOrleans.Inference.OnnxRuntime;

/// <summary>
/// A loaded ONNX model. <see cref="Run(ReadOnlySpan{OnnxInput}, CancellationToken)"/> may be called
/// from many threads at once (ORT allows it); <see cref="Dispose"/> waits for no one but releases the
/// native session only after the last running call returns.
/// </summary>
public sealed unsafe class OnnxSession : IDisposable
{
    // Above this many handle slots per call, scratch space comes from the native heap, not the stack.
    private const int MaxStackPointers = 256;

    private readonly OrtSessionHandle _handle = new();
    private readonly OnnxTensorDescription[] _inputs;
    private readonly OnnxTensorDescription[] _outputs;
    private readonly Dictionary<string, int> _inputIndex;
    private readonly Dictionary<string, int> _outputIndex;

    /// <summary>Loads a model from its serialized ONNX bytes.</summary>
    /// <exception cref="OnnxRuntimeException">ORT refused the model (e.g. code 7 bad protobuf, 10 invalid graph).</exception>
    public OnnxSession(ReadOnlySpan<byte> model, OnnxSessionOptions? options = null)
    {
        if (model.IsEmpty)
        {
            throw new ArgumentException("The model is empty.", nameof(model));
        }

        options ??= OnnxSessionOptions.Default;
        OrtLibrary.Runtime runtime = OrtLibrary.Load();
        OrtApi api = runtime.Api;
        void* sessionOptions = null;
        try
        {
            api.Check(api.CreateSessionOptions(&sessionOptions), "Creating session options");
            Configure(api, sessionOptions, options);
            void* session = null;
            fixed (byte* data = model)
            {
                api.Check(api.CreateSessionFromArray(runtime.Env, data, (nuint)model.Length, sessionOptions, &session), "Creating a session");
            }

            _handle.Attach(session);
            _inputs = Describe(runtime, session, isInput: true);
            _outputs = Describe(runtime, session, isInput: false);
            _handle.AttachNames(_inputs.Select(d => d.Name).ToArray(), _outputs.Select(d => d.Name).ToArray());
            _inputIndex = IndexByName(_inputs);
            _outputIndex = IndexByName(_outputs);
        }
        catch
        {
            _handle.Dispose();
            throw;
        }
        finally
        {
            api.ReleaseSessionOptions(sessionOptions);
        }
    }

    public IReadOnlyList<OnnxTensorDescription> Inputs => _inputs;

    public IReadOnlyList<OnnxTensorDescription> Outputs => _outputs;

    public bool IsDisposed => _handle.IsClosed;

    /// <summary>The position of the named input in <see cref="Inputs"/>, or -1.</summary>
    public int IndexOfInput(string name) => _inputIndex.GetValueOrDefault(name, -1);

    /// <summary>The position of the named output in <see cref="Outputs"/>, or -1.</summary>
    public int IndexOfOutput(string name) => _outputIndex.GetValueOrDefault(name, -1);

    /// <summary>Runs the model and returns every output, in the order of <see cref="Outputs"/>.</summary>
    public OnnxOutput[] Run(ReadOnlySpan<OnnxInput> inputs, CancellationToken cancellationToken = default) =>
        Run(inputs, ReadOnlySpan<int>.Empty, cancellationToken);

    /// <summary>Runs the model with one input and returns every output.</summary>
    public OnnxOutput[] Run(in OnnxInput input, CancellationToken cancellationToken = default) =>
        Run(new ReadOnlySpan<OnnxInput>(in input), ReadOnlySpan<int>.Empty, cancellationToken);

    /// <summary>
    /// Runs the model and returns the outputs at <paramref name="outputIndices"/> (positions in
    /// <see cref="Outputs"/>), in that order; an empty span means all outputs. The inputs' data is
    /// read in place, pinned for the call; the outputs are copied into new managed arrays.
    /// </summary>
    /// <exception cref="ArgumentException">An input names no model input, is given twice, has the wrong element type, or its data length does not match its shape.</exception>
    /// <exception cref="OnnxRuntimeException">ORT refused the call (e.g. code 2 for wrong dimensions).</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled before or during the run.</exception>
    /// <exception cref="ObjectDisposedException">The session has been disposed.</exception>
    public OnnxOutput[] Run(ReadOnlySpan<OnnxInput> inputs, ReadOnlySpan<int> outputIndices, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        cancellationToken.ThrowIfCancellationRequested();

        int inputCount = inputs.Length;
        int outputCount = outputIndices.IsEmpty ? _outputs.Length : outputIndices.Length;
        Span<int> resolved = inputCount <= 64 ? stackalloc int[inputCount] : new int[inputCount];
        ValidateInputs(inputs, resolved);
        ValidateOutputs(outputIndices);

        // Scratch for the pointer arrays Run takes: input names, input values, output names, output values.
        int pointerCount = (2 * inputCount) + (2 * outputCount);
        void** stackScratch = stackalloc void*[pointerCount <= MaxStackPointers ? pointerCount : 0];
        void** scratch = pointerCount <= MaxStackPointers
            ? stackScratch
            : (void**)NativeMemory.Alloc((nuint)pointerCount, (nuint)sizeof(void*));
        new Span<nint>(scratch, pointerCount).Clear();
        byte** inputNames = (byte**)scratch;
        void** inputValues = scratch + inputCount;
        byte** requestedNames = (byte**)(scratch + (2 * inputCount));
        void** outputValues = scratch + (2 * inputCount) + outputCount;

        PinnedInputs pinStorage = default;
        Span<MemoryHandle> pins = inputCount <= PinnedInputs.Length ? pinStorage : new MemoryHandle[inputCount];
        byte empty = 0; // stands in for the data pointer of zero-element inputs

        OrtApi api = OrtLibrary.Api;
        void* memoryInfo = OrtLibrary.Load().CpuMemoryInfo;
        void* runOptions = null;
        CancellationTokenRegistration registration = default;
        bool referenced = false;
        try
        {
            _handle.DangerousAddRef(ref referenced);
            byte** sessionInputNames = _handle.InputNames;
            byte** sessionOutputNames = _handle.OutputNames;

            for (int i = 0; i < inputCount; i++)
            {
                ref readonly OnnxInput input = ref inputs[i];
                int elementSize = OnnxElementTypes.SizeOf(input.ElementType);
                inputNames[i] = sessionInputNames[resolved[i]];
                pins[i] = input.Pin(elementSize);
                void* data = pins[i].Pointer != null ? pins[i].Pointer : &empty;
                ReadOnlySpan<long> shape = input.Shape.Span;
                fixed (long* dims = shape)
                {
                    api.Check(
                        api.CreateTensorWithDataAsOrtValue(
                            memoryInfo, data, (nuint)((long)input.Length * elementSize), dims, (nuint)shape.Length, (int)input.ElementType, &inputValues[i]),
                        "Wrapping input", _inputs[resolved[i]].Name);
                }
            }

            for (int j = 0; j < outputCount; j++)
            {
                requestedNames[j] = sessionOutputNames[outputIndices.IsEmpty ? j : outputIndices[j]];
            }

            if (cancellationToken.CanBeCanceled)
            {
                api.Check(api.CreateRunOptions(&runOptions), "Creating run options");
                registration = cancellationToken.UnsafeRegister(
                    static state =>
                    {
                        OrtApi ort = OrtLibrary.Api;
                        ort.Ignore(ort.RunOptionsSetTerminate((void*)(nint)state!));
                    },
                    (nint)runOptions);
            }

            void* status = api.Run(
                _handle.Session, runOptions, inputNames, inputValues, (nuint)inputCount, requestedNames, (nuint)outputCount, outputValues);
            if (status != null)
            {
                OnnxRuntimeException error = api.ToException(status, "Running the model");
                if (cancellationToken.IsCancellationRequested)
                {
                    throw new OperationCanceledException("The model run was cancelled.", error, cancellationToken);
                }

                throw error;
            }

            var results = new OnnxOutput[outputCount];
            for (int j = 0; j < outputCount; j++)
            {
                int index = outputIndices.IsEmpty ? j : outputIndices[j];
                results[j] = CopyOut(api, outputValues[j], _outputs[index].Name);
            }

            return results;
        }
        finally
        {
            // The callback may be running on another thread: wait for it before freeing the options it touches.
            registration.Dispose();
            api.ReleaseRunOptions(runOptions);
            for (int j = 0; j < outputCount; j++)
            {
                api.ReleaseValue(outputValues[j]);
            }

            for (int i = 0; i < inputCount; i++)
            {
                api.ReleaseValue(inputValues[i]);
                pins[i].Dispose();
            }

            if (pointerCount > MaxStackPointers)
            {
                NativeMemory.Free(scratch);
            }

            if (referenced)
            {
                _handle.DangerousRelease();
            }
        }
    }

    public void Dispose() => _handle.Dispose();

    public override string ToString() =>
        $"OnnxSession(inputs: {string.Join(", ", _inputs.Select(d => d.ToString()))}; outputs: {string.Join(", ", _outputs.Select(d => d.ToString()))})";

    private void ValidateInputs(ReadOnlySpan<OnnxInput> inputs, Span<int> resolved)
    {
        if (inputs.Length > _inputs.Length)
        {
            throw new ArgumentException($"The model has {_inputs.Length} input(s) but {inputs.Length} were given.", nameof(inputs));
        }

        Span<bool> seen = stackalloc bool[_inputs.Length <= 256 ? _inputs.Length : 0];
        if (_inputs.Length > 256)
        {
            seen = new bool[_inputs.Length];
        }

        seen.Clear();
        for (int i = 0; i < inputs.Length; i++)
        {
            ref readonly OnnxInput input = ref inputs[i];
            int index;
            if (input.Name is not null)
            {
                if (!_inputIndex.TryGetValue(input.Name, out index))
                {
                    throw new ArgumentException(
                        $"The model has no input named '{input.Name}'; its inputs are: {string.Join(", ", _inputs.Select(d => d.Name))}.", nameof(inputs));
                }
            }
            else
            {
                index = input.Index;
                if ((uint)index >= (uint)_inputs.Length)
                {
                    throw new ArgumentException($"Input index {index} is out of range; the model has {_inputs.Length} input(s).", nameof(inputs));
                }
            }

            OnnxTensorDescription expected = _inputs[index];
            if (seen[index])
            {
                throw new ArgumentException($"Input '{expected.Name}' is given more than once.", nameof(inputs));
            }

            seen[index] = true;
            resolved[i] = index;
            if (!expected.IsTensor)
            {
                throw new ArgumentException($"Input '{expected.Name}' is a {expected.KindName}; only tensor inputs are supported.", nameof(inputs));
            }

            if (input.ElementType == OnnxElementType.Undefined || OnnxElementTypes.SizeOf(input.ElementType) == 0)
            {
                throw new ArgumentException($"Input '{expected.Name}' has no usable element type.", nameof(inputs));
            }

            if (expected.ElementType != input.ElementType)
            {
                throw new ArgumentException(
                    $"Input '{expected.Name}' expects tensor({expected.ElementTypeName}) but was given tensor({OnnxElementTypes.NameOf(input.ElementType)}).", nameof(inputs));
            }

            long elements = 1;
            foreach (long dimension in input.Shape.Span)
            {
                if (dimension < 0)
                {
                    throw new ArgumentException($"Input '{expected.Name}' has a negative dimension in shape [{string.Join(",", input.Shape.ToArray())}].", nameof(inputs));
                }

                elements = dimension == 0 || elements <= long.MaxValue / dimension ? elements * dimension : long.MaxValue;
            }

            if (elements != input.Length)
            {
                throw new ArgumentException(
                    $"Input '{expected.Name}' has shape [{string.Join(",", input.Shape.ToArray())}], which holds {elements} elements, but its data has {input.Length}.", nameof(inputs));
            }
        }

        // ORT lists only true graph inputs (initializers are separate), so every tensor input is
        // required; without this check ORT fails inside the first kernel that reads it, with code 1.
        if (inputs.Length < _inputs.Length)
        {
            for (int index = 0; index < _inputs.Length; index++)
            {
                if (!seen[index] && _inputs[index].Kind != OnnxValueKind.Optional)
                {
                    throw new ArgumentException($"The model needs input '{_inputs[index].Name}', which was not given.", nameof(inputs));
                }
            }
        }
    }

    private void ValidateOutputs(ReadOnlySpan<int> outputIndices)
    {
        if (outputIndices.IsEmpty)
        {
            foreach (OnnxTensorDescription output in _outputs)
            {
                EnsureReadable(output);
            }

            return;
        }

        for (int j = 0; j < outputIndices.Length; j++)
        {
            int index = outputIndices[j];
            if ((uint)index >= (uint)_outputs.Length)
            {
                throw new ArgumentException($"Output index {index} is out of range; the model has {_outputs.Length} output(s).", nameof(outputIndices));
            }

            // Each requested output becomes its own OrtValue that we release; a repeat could hand back one twice.
            if (outputIndices[..j].Contains(index))
            {
                throw new ArgumentException($"Output '{_outputs[index].Name}' is requested more than once.", nameof(outputIndices));
            }

            EnsureReadable(_outputs[index]);
        }

        static void EnsureReadable(OnnxTensorDescription output)
        {
            if (!output.IsTensor || OnnxElementTypes.SizeOf(output.ElementType) == 0)
            {
                throw new NotSupportedException(
                    $"Output '{output.Name}' is {(output.IsTensor ? $"tensor({output.ElementTypeName})" : $"a {output.KindName}")}, which this binding cannot read; request other outputs by index.");
            }
        }
    }

    private static OnnxOutput CopyOut(OrtApi api, void* value, string name)
    {
        if (value == null)
        {
            throw new InvalidOperationException($"ONNX Runtime returned no value for output '{name}'.");
        }

        void* info = null;
        long[] shape;
        int elementType;
        try
        {
            api.Check(api.GetTensorTypeAndShape(value, &info), "Reading the shape of output", name);
            api.Check(api.GetTensorElementType(info, &elementType), "Reading the type of output", name);
            nuint rank;
            api.Check(api.GetDimensionsCount(info, &rank), "Reading the shape of output", name);
            shape = new long[(int)rank];
            fixed (long* dims = shape)
            {
                api.Check(api.GetDimensions(info, dims, rank), "Reading the shape of output", name);
            }
        }
        finally
        {
            api.ReleaseTensorTypeAndShapeInfo(info);
        }

        var type = (OnnxElementType)elementType;
        long count = 1;
        foreach (long dimension in shape)
        {
            count *= dimension;
        }

        if (count > Array.MaxLength)
        {
            throw new NotSupportedException($"Output '{name}' has {count} elements, more than a managed array holds.");
        }

        Array data = Allocate(type, (int)count, name);
        if (count > 0)
        {
            void* source;
            api.Check(api.GetTensorMutableData(value, &source), "Reading output", name);
            nuint bytes = (nuint)(count * OnnxElementTypes.SizeOf(type));
            fixed (byte* target = &MemoryMarshal.GetArrayDataReference(data))
            {
                Buffer.MemoryCopy(source, target, bytes, bytes);
            }
        }

        return new OnnxOutput(name, type, shape, data);
    }

    private static Array Allocate(OnnxElementType type, int count, string name) => type switch
    {
        OnnxElementType.Float => GC.AllocateUninitializedArray<float>(count),
        OnnxElementType.Double => GC.AllocateUninitializedArray<double>(count),
        OnnxElementType.Int64 => GC.AllocateUninitializedArray<long>(count),
        OnnxElementType.Int32 => GC.AllocateUninitializedArray<int>(count),
        OnnxElementType.UInt8 => GC.AllocateUninitializedArray<byte>(count),
        OnnxElementType.Bool => GC.AllocateUninitializedArray<bool>(count),
        OnnxElementType.Int8 => GC.AllocateUninitializedArray<sbyte>(count),
        OnnxElementType.Int16 => GC.AllocateUninitializedArray<short>(count),
        OnnxElementType.UInt16 => GC.AllocateUninitializedArray<ushort>(count),
        OnnxElementType.UInt32 => GC.AllocateUninitializedArray<uint>(count),
        OnnxElementType.UInt64 => GC.AllocateUninitializedArray<ulong>(count),
        OnnxElementType.Float16 => GC.AllocateUninitializedArray<Half>(count),
        OnnxElementType.BFloat16 => GC.AllocateUninitializedArray<ushort>(count), // raw bits
        _ => throw new NotSupportedException($"Output '{name}' has element type {OnnxElementTypes.NameOf(type)}, which this binding cannot read."),
    };

    private static void Configure(OrtApi api, void* sessionOptions, OnnxSessionOptions options)
    {
        api.Check(api.SetIntraOpNumThreads(sessionOptions, options.IntraOpThreads), "Setting intra-op threads");
        api.Check(api.SetInterOpNumThreads(sessionOptions, options.InterOpThreads), "Setting inter-op threads");
        api.Check(api.SetSessionGraphOptimizationLevel(sessionOptions, options.GraphOptimizationLevel), "Setting the graph optimization level");
        api.Check(
            options.EnableCpuMemArena ? api.EnableCpuMemArena(sessionOptions) : api.DisableCpuMemArena(sessionOptions),
            "Setting the CPU memory arena");
        if (!options.AllowSpinning)
        {
            fixed (byte* intraKey = "session.intra_op.allow_spinning"u8)
            fixed (byte* interKey = "session.inter_op.allow_spinning"u8)
            fixed (byte* off = "0"u8)
            {
                api.Check(api.AddSessionConfigEntry(sessionOptions, intraKey, off), "Disabling intra-op spinning");
                api.Check(api.AddSessionConfigEntry(sessionOptions, interKey, off), "Disabling inter-op spinning");
            }
        }
    }

    private static OnnxTensorDescription[] Describe(OrtLibrary.Runtime runtime, void* session, bool isInput)
    {
        OrtApi api = runtime.Api;
        string what = isInput ? "input" : "output";
        nuint count;
        api.Check(isInput ? api.SessionGetInputCount(session, &count) : api.SessionGetOutputCount(session, &count), $"Counting the model's {what}s");
        var descriptions = new OnnxTensorDescription[(int)count];
        for (nuint i = 0; i < count; i++)
        {
            string name = ReadName(api, runtime.DefaultAllocator, session, i, isInput);
            void* typeInfo = null;
            try
            {
                api.Check(
                    isInput ? api.SessionGetInputTypeInfo(session, i, &typeInfo) : api.SessionGetOutputTypeInfo(session, i, &typeInfo),
                    $"Reading the type of {what} '{name}'");
                descriptions[(int)i] = DescribeType(api, typeInfo, name);
            }
            finally
            {
                api.ReleaseTypeInfo(typeInfo);
            }
        }

        return descriptions;
    }

    private static string ReadName(OrtApi api, void* allocator, void* session, nuint index, bool isInput)
    {
        byte* name = null;
        api.Check(
            isInput ? api.SessionGetInputName(session, index, allocator, &name) : api.SessionGetOutputName(session, index, allocator, &name),
            "Reading a name");
        try
        {
            return Marshal.PtrToStringUTF8((nint)name) ?? string.Empty;
        }
        finally
        {
            // Allocated with the allocator we passed; only it may free the string.
            api.Ignore(api.AllocatorFree(allocator, name));
        }
    }

    private static OnnxTensorDescription DescribeType(OrtApi api, void* typeInfo, string name)
    {
        int onnxType;
        api.Check(api.GetOnnxTypeFromTypeInfo(typeInfo, &onnxType), "Reading the kind of", name);
        void* tensorInfo = null;
        api.Check(api.CastTypeInfoToTensorInfo(typeInfo, &tensorInfo), "Reading the tensor type of", name);
        if (tensorInfo == null)
        {
            // Sequences, maps and optionals: success with a NULL info, which must not be used.
            var kind = onnxType == (int)OnnxValueKind.Tensor ? OnnxValueKind.Unknown : (OnnxValueKind)onnxType;
            return new OnnxTensorDescription(name, kind, OnnxElementType.Undefined, [], []);
        }

        int elementType;
        nuint rank;
        api.Check(api.GetTensorElementType(tensorInfo, &elementType), "Reading the element type of", name);
        api.Check(api.GetDimensionsCount(tensorInfo, &rank), "Reading the rank of", name);
        var shape = new long[(int)rank];
        var symbolic = new string?[(int)rank];
        if (rank > 0)
        {
            byte** symbols = stackalloc byte*[(int)rank];
            fixed (long* dims = shape)
            {
                api.Check(api.GetDimensions(tensorInfo, dims, rank), "Reading the shape of", name);
            }

            api.Check(api.GetSymbolicDimensions(tensorInfo, symbols, rank), "Reading the dimension names of", name);
            for (int d = 0; d < (int)rank; d++)
            {
                string? symbol = symbols[d] == null ? null : Marshal.PtrToStringUTF8((nint)symbols[d]);
                symbolic[d] = string.IsNullOrEmpty(symbol) ? null : symbol;
            }
        }

        return new OnnxTensorDescription(name, OnnxValueKind.Tensor, (OnnxElementType)elementType, shape, symbolic);
    }

    private static Dictionary<string, int> IndexByName(OnnxTensorDescription[] descriptions)
    {
        var index = new Dictionary<string, int>(descriptions.Length, StringComparer.Ordinal);
        for (int i = 0; i < descriptions.Length; i++)
        {
            index.TryAdd(descriptions[i].Name, i);
        }

        return index;
    }

    [InlineArray(Length)]
    private struct PinnedInputs
    {
        public const int Length = 8;
        private MemoryHandle _first;
    }
}
