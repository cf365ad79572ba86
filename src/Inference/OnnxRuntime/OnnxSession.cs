using System.Buffers;
using System.Runtime.InteropServices;
using Ort = Microsoft.ML.OnnxRuntime;

namespace TrainedModelsOrleans.Inference.OnnxRuntime;

/// <summary>
/// A loaded ONNX model on ONNX Runtime's managed API. <see cref="Run(ReadOnlySpan{OnnxInput}, CancellationToken)"/>
/// may be called from many threads at once (ORT allows it); <see cref="Dispose"/> waits for no one but
/// releases the native session only after the last running call returns.
/// </summary>
public sealed class OnnxSession : IDisposable
{
    // Stands in for the data of zero-element tensors: ORT wants a buffer even when it reads nothing from it.
    internal static readonly byte[] EmptyBuffer = GC.AllocateArray<byte>(1, pinned: true);

    private readonly Ort.InferenceSession _session;
    private readonly Ort.RunOptions _sharedRunOptions; // for runs that cannot be cancelled: never terminated
    // Run options of cancellable runs, kept for the next ones: a native create and release per run cost more than a tiny model's run.
    private readonly Ort.RunOptions?[] _idleRunOptions = new Ort.RunOptions?[IdleRunOptions];
    private const int IdleRunOptions = 16;
    private readonly OnnxTensorDescription[] _inputs;
    private readonly OnnxTensorDescription[] _outputs;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly Dictionary<string, int> _inputIndex;
    private readonly Dictionary<string, int> _outputIndex;
    private readonly int[] _allOutputs;
    private readonly DimensionSource[]?[] _outputShapes;
    // Bindings of recent runs' shapes, for the next runs of the same shapes (a batch size each, in the executor's runs).
    private readonly BoundRun?[] _idleBoundRuns = new BoundRun?[IdleBoundRuns];
    private const int IdleBoundRuns = 32;
    private const long StaleBoundRunMilliseconds = 10_000;
    private volatile bool _preallocateOutputs = true;
    private int _references = 1; // the session's own, dropped by Dispose, plus one per running call
    private int _disposed;

    /// <summary>Loads a model from its serialized ONNX bytes (the array is handed to ORT as is).</summary>
    /// <exception cref="OnnxRuntimeException">ORT refused the model (e.g. code 7 bad protobuf, 10 invalid graph) or an option.</exception>
    public OnnxSession(byte[] model, OnnxSessionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.Length == 0)
        {
            throw new ArgumentException("The model is empty.", nameof(model));
        }

        OnnxRuntimeEnvironment.EnsureCreated();
        try
        {
            using Ort.SessionOptions sessionOptions = CreateSessionOptions(options ?? OnnxSessionOptions.Default);
            _session = new Ort.InferenceSession(model, sessionOptions);
        }
        catch (Ort.OnnxRuntimeException e)
        {
            throw OnnxRuntimeException.From(e, "Creating a session");
        }

        try
        {
            _inputNames = [.. _session.InputNames];
            _outputNames = [.. _session.OutputNames];
            _inputs = Array.ConvertAll(_inputNames, name => Describe(name, _session.InputMetadata[name]));
            _outputs = Array.ConvertAll(_outputNames, name => Describe(name, _session.OutputMetadata[name]));
            _inputIndex = IndexByName(_inputs);
            _outputIndex = IndexByName(_outputs);
            _allOutputs = Enumerable.Range(0, _outputs.Length).ToArray();
            _outputShapes = Array.ConvertAll(_outputs, output => OutputShapeSources(output, _inputs));
            _sharedRunOptions = new Ort.RunOptions();
        }
        catch
        {
            _session.Dispose();
            throw;
        }
    }

    /// <summary>Loads a model from its serialized ONNX bytes (copied once for ORT).</summary>
    public OnnxSession(ReadOnlySpan<byte> model, OnnxSessionOptions? options = null)
        : this(model.IsEmpty ? throw new ArgumentException("The model is empty.", nameof(model)) : model.ToArray(), options)
    {
    }

    public IReadOnlyList<OnnxTensorDescription> Inputs => _inputs;

    public IReadOnlyList<OnnxTensorDescription> Outputs => _outputs;

    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>Whether runs still hand ORT output arrays shaped from the model's declaration (false once ORT refused one).</summary>
    internal bool PreallocatesOutputs => _preallocateOutputs;

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
    /// read in place, pinned for the call. Outputs whose shape follows from the model and the inputs
    /// are written by ORT straight into new managed arrays; the others are copied out of ORT's.
    /// Cancelling the token terminates a run in progress (ORT's RunOptions.Terminate), at the next node.
    /// </summary>
    /// <exception cref="ArgumentException">An input names no model input, is given twice, has the wrong element type, or its data length does not match its shape.</exception>
    /// <exception cref="OnnxRuntimeException">ORT refused the call (e.g. code 2 for wrong dimensions).</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled before or during the run.</exception>
    /// <exception cref="ObjectDisposedException">The session has been disposed.</exception>
    public OnnxOutput[] Run(ReadOnlySpan<OnnxInput> inputs, ReadOnlySpan<int> outputIndices, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        cancellationToken.ThrowIfCancellationRequested();

        int inputCount = inputs.Length;
        int[] resolved = new int[inputCount];
        ValidateInputs(inputs, resolved);
        ValidateOutputs(outputIndices);
        int[] outputs = outputIndices.IsEmpty ? _allOutputs : outputIndices.ToArray();

        if (!TryAddReference())
        {
            throw new ObjectDisposedException(nameof(OnnxSession));
        }

        Ort.OrtValue?[] inputValues = [];
        PinnedInputs pinStorage = default;
        Span<MemoryHandle> pins = inputCount <= PinnedInputs.Length ? pinStorage : new MemoryHandle[inputCount];
        Ort.RunOptions? cancellableRun = null;
        CancellationTokenRegistration registration = default;
        try
        {
            Ort.RunOptions runOptions = _sharedRunOptions;
            if (cancellationToken.CanBeCanceled)
            {
                runOptions = cancellableRun = RentRunOptions();
                registration = cancellationToken.UnsafeRegister(static state => ((Ort.RunOptions)state!).Terminate = true, cancellableRun);
            }

            long[][]? shapes = _preallocateOutputs ? OutputShapes(inputs, resolved, outputs) : null;
            bool boundRefused = false;
            if (shapes is not null)
            {
                if (TryRunBound(inputs, resolved, outputs, shapes, runOptions, cancellationToken, out bool bound) is { } boundOutputs)
                {
                    return boundOutputs;
                }

                boundRefused = bound;
            }

            inputValues = new Ort.OrtValue?[inputCount];
            for (int i = 0; i < inputCount; i++)
            {
                ref readonly OnnxInput input = ref inputs[i];
                int elementSize = OnnxElementTypes.SizeOf(input.ElementType);
                pins[i] = input.Pin(elementSize);
                inputValues[i] = Wrap(input, pins[i], elementSize);
            }

            var request = new RunRequest(
                InputNamesOf(resolved), inputValues!, outputs, outputIndices.IsEmpty ? _outputNames : Array.ConvertAll(outputs, j => _outputNames[j]), runOptions, cancellationToken);
            if (shapes is not null)
            {
                if (!boundRefused && TryRunIntoNewArrays(request, shapes) is { } written)
                {
                    return written;
                }

                // ORT refused the run with outputs shaped as the model declares them. If it works without
                // them, the declared shapes cannot be trusted and this session stops pre-allocating; if not,
                // the caller gets the error ORT gives without pre-allocation (a failed run costs two).
                OnnxOutput[] copied = RunAndCopyOut(request);
                _preallocateOutputs = false;
                return copied;
            }

            return RunAndCopyOut(request);
        }
        catch (Ort.OnnxRuntimeException e)
        {
            OnnxRuntimeException error = OnnxRuntimeException.From(e, "Running the model");
            if (cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException("The model run was cancelled.", error, cancellationToken);
            }

            throw error;
        }
        finally
        {
            // The callback may be running on another thread: wait for it before freeing the options it touches.
            registration.Dispose();
            if (cancellableRun is not null) ReturnRunOptions(cancellableRun);
            for (int i = 0; i < inputValues.Length; i++)
            {
                inputValues[i]?.Dispose();
                pins[i].Dispose();
            }

            ReleaseReference();
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            ReleaseReference();
        }
    }

    public override string ToString() =>
        $"OnnxSession(inputs: {string.Join(", ", _inputs.Select(d => d.ToString()))}; outputs: {string.Join(", ", _outputs.Select(d => d.ToString()))})";

    /// <summary>
    /// Runs through a binding kept for these shapes (<see cref="BoundRun"/>), made if none is idle. Null when the tensors are too
    /// large to bind (<paramref name="bound"/> false) or ORT refused the declared output shapes (<paramref name="bound"/> true).
    /// </summary>
    private OnnxOutput[]? TryRunBound(
        ReadOnlySpan<OnnxInput> inputs, int[] resolved, int[] outputs, long[][] shapes, Ort.RunOptions runOptions, CancellationToken cancellationToken, out bool bound)
    {
        BoundRun? run = RentBoundRun(inputs, resolved, outputs)
                        ?? (HasRoomForBoundRun() ? BoundRun.TryCreate(_session, _inputs, inputs, resolved, _outputs, outputs, shapes) : null);
        bound = run is not null;
        if (run is null)
        {
            return null;
        }

        bool keep = false;
        try
        {
            run.CopyIn(inputs);
            _session.RunWithBinding(runOptions, run.Binding);
            keep = true;
            return run.CopyOut(Allocate);
        }
        catch (Ort.OnnxRuntimeException) when (!cancellationToken.IsCancellationRequested)
        {
            // As in TryRunIntoNewArrays: the caller runs again unbound, which tells bad inputs from untrustworthy declared shapes.
            return null;
        }
        finally
        {
            if (keep) ReturnBoundRun(run);
            else run.Dispose();
        }
    }

    /// <summary>An idle binding for these inputs and outputs, taken from the ones kept; null if none matches.</summary>
    private BoundRun? RentBoundRun(ReadOnlySpan<OnnxInput> inputs, int[] resolved, int[] outputs)
    {
        for (int i = 0; i < _idleBoundRuns.Length; i++)
        {
            if (Volatile.Read(ref _idleBoundRuns[i]) is { } idle && idle.Matches(inputs, resolved, outputs)
                && Interlocked.CompareExchange(ref _idleBoundRuns[i], null, idle) == idle)
            {
                return idle;
            }
        }

        return null;
    }

    /// <summary>
    /// Whether a new binding could be kept: a free place, or one held by a binding unused for ten seconds.
    /// When every place holds a binding in use, runs of other shapes take the unbound way: making and dropping a binding
    /// per run (more shapes in rotation than places, e.g. text of many lengths) would cost more than it saves.
    /// </summary>
    private bool HasRoomForBoundRun()
    {
        long now = Environment.TickCount64;
        foreach (BoundRun? idle in _idleBoundRuns)
        {
            if (idle is null || now - idle.LastUsed > StaleBoundRunMilliseconds)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Keeps a binding for the next run of its shapes, in a free place or one whose binding went stale; else drops it.</summary>
    private void ReturnBoundRun(BoundRun run)
    {
        long now = Environment.TickCount64;
        run.LastUsed = now;
        for (int i = 0; i < _idleBoundRuns.Length; i++)
        {
            if (Interlocked.CompareExchange(ref _idleBoundRuns[i], run, null) is null)
            {
                return;
            }
        }

        for (int i = 0; i < _idleBoundRuns.Length; i++)
        {
            if (Volatile.Read(ref _idleBoundRuns[i]) is { } idle && now - idle.LastUsed > StaleBoundRunMilliseconds
                && Interlocked.CompareExchange(ref _idleBoundRuns[i], run, idle) == idle)
            {
                idle.Dispose();
                return;
            }
        }

        run.Dispose();
    }

    /// <summary>Runs with outputs in new managed arrays that ORT writes into; null when ORT refused their shapes.</summary>
    private OnnxOutput[]? TryRunIntoNewArrays(RunRequest request, long[][] shapes)
    {
        int count = request.Outputs.Length;
        var results = new OnnxOutput[count];
        var values = new Ort.OrtValue?[count];
        var handles = new GCHandle[count];
        try
        {
            for (int j = 0; j < count; j++)
            {
                OnnxTensorDescription output = _outputs[request.Outputs[j]];
                long elements = ElementCount(shapes[j]);
                Array data = Allocate(output.ElementType, elements, output.Name);
                handles[j] = GCHandle.Alloc(data, GCHandleType.Pinned);
                values[j] = Ort.OrtValue.CreateTensorValueWithData(
                    Ort.OrtMemoryInfo.DefaultInstance,
                    (Ort.Tensors.TensorElementType)output.ElementType,
                    shapes[j],
                    handles[j].AddrOfPinnedObject(),
                    elements * OnnxElementTypes.SizeOf(output.ElementType));
                results[j] = new OnnxOutput(output.Name, output.ElementType, shapes[j], data);
            }

            _session.Run(request.RunOptions, request.InputNames, request.InputValues, request.OutputNames, values!);
            return results;
        }
        catch (Ort.OnnxRuntimeException) when (!request.CancellationToken.IsCancellationRequested)
        {
            // ORT reports an output whose real shape differs from the model's declaration as INVALID_ARGUMENT,
            // like bad inputs; the caller runs again without pre-allocation, which tells the two apart.
            return null;
        }
        finally
        {
            for (int j = 0; j < count; j++)
            {
                values[j]?.Dispose();
                if (handles[j].IsAllocated)
                {
                    handles[j].Free();
                }
            }
        }
    }

    /// <summary>Runs with outputs allocated by ORT, and copies each into a new managed array.</summary>
    private OnnxOutput[] RunAndCopyOut(RunRequest request)
    {
        using Ort.IDisposableReadOnlyCollection<Ort.OrtValue> values =
            _session.Run(request.RunOptions, request.InputNames, request.InputValues, request.OutputNames);
        var results = new OnnxOutput[values.Count];
        for (int j = 0; j < results.Length; j++)
        {
            results[j] = CopyOut(values[j], _outputNames[request.Outputs[j]]);
        }

        return results;
    }

    private static OnnxOutput CopyOut(Ort.OrtValue value, string name)
    {
        if (!value.IsTensor)
        {
            throw new NotSupportedException($"ONNX Runtime returned a {value.OnnxType} for output '{name}', not a tensor.");
        }

        Ort.OrtTensorTypeAndShapeInfo info = value.GetTensorTypeAndShape();
        var type = (OnnxElementType)(int)info.ElementDataType;
        Array data = Allocate(type, info.ElementCount, name);
        if (data.Length > 0)
        {
            Span<byte> target = MemoryMarshal.CreateSpan(ref MemoryMarshal.GetArrayDataReference(data), checked(data.Length * OnnxElementTypes.SizeOf(type)));
            value.GetTensorMutableRawData().CopyTo(target);
        }

        return new OnnxOutput(name, type, info.Shape, data);
    }

    /// <summary>An OrtValue over the input's pinned data (no copy).</summary>
    private static unsafe Ort.OrtValue Wrap(in OnnxInput input, MemoryHandle pin, int elementSize)
    {
        nint data = pin.Pointer != null ? (nint)pin.Pointer : Marshal.UnsafeAddrOfPinnedArrayElement(EmptyBuffer, 0);
        return Ort.OrtValue.CreateTensorValueWithData(
            Ort.OrtMemoryInfo.DefaultInstance, (Ort.Tensors.TensorElementType)input.ElementType, ShapeArray(input.Shape), data, (long)input.Length * elementSize);
    }

    /// <summary>The shape as the long[] the managed API takes (ORT copies it), without a copy when it already is one.</summary>
    private static long[] ShapeArray(ReadOnlyMemory<long> shape) =>
        MemoryMarshal.TryGetArray(shape, out ArraySegment<long> segment) && segment.Offset == 0 && segment.Count == segment.Array!.Length
            ? segment.Array
            : shape.ToArray();

    /// <summary>
    /// The shape of each requested output when every dimension is fixed in the model or named after a
    /// dimension of a given input (e.g. "batch"); null when one of them is not.
    /// </summary>
    private long[][]? OutputShapes(ReadOnlySpan<OnnxInput> inputs, int[] resolved, int[] outputs)
    {
        var shapes = new long[outputs.Length][];
        for (int j = 0; j < outputs.Length; j++)
        {
            if (_outputShapes[outputs[j]] is not { } sources)
            {
                return null;
            }

            var shape = new long[sources.Length];
            for (int d = 0; d < sources.Length; d++)
            {
                DimensionSource source = sources[d];
                if (source.Input < 0)
                {
                    shape[d] = source.Size;
                    continue;
                }

                int given = Array.IndexOf(resolved, source.Input);
                if (given < 0 || source.Dimension >= inputs[given].Shape.Length)
                {
                    return null;
                }

                shape[d] = inputs[given].Shape.Span[source.Dimension];
            }

            shapes[j] = shape;
        }

        return shapes;
    }

    /// <summary>Where each dimension of an output's shape comes from; null when one is open and named after no input dimension.</summary>
    private static DimensionSource[]? OutputShapeSources(OnnxTensorDescription output, OnnxTensorDescription[] inputs)
    {
        if (!output.IsTensor || OnnxElementTypes.SizeOf(output.ElementType) == 0)
        {
            return null;
        }

        var sources = new DimensionSource[output.Shape.Length];
        for (int d = 0; d < sources.Length; d++)
        {
            if (output.Shape[d] >= 0)
            {
                sources[d] = new DimensionSource(-1, -1, output.Shape[d]);
                continue;
            }

            string? symbol = output.SymbolicDimensions[d];
            DimensionSource? found = null;
            for (int i = 0; i < inputs.Length && symbol is not null && found is null; i++)
            {
                int dimension = Array.IndexOf(inputs[i].SymbolicDimensions, symbol);
                if (dimension >= 0)
                {
                    found = new DimensionSource(i, dimension, -1);
                }
            }

            if (found is not { } source)
            {
                return null;
            }

            sources[d] = source;
        }

        return sources;
    }

    private static OnnxTensorDescription Describe(string name, Ort.NodeMetadata metadata)
    {
        if (metadata.OnnxValueType != Ort.OnnxValueType.ONNX_TYPE_TENSOR)
        {
            return new OnnxTensorDescription(name, (OnnxValueKind)(int)metadata.OnnxValueType, OnnxElementType.Undefined, [], []);
        }

        long[] shape = Array.ConvertAll(metadata.Dimensions, d => (long)d);
        string?[] symbolic = Array.ConvertAll(metadata.SymbolicDimensions, s => string.IsNullOrEmpty(s) ? null : s);
        return new OnnxTensorDescription(name, OnnxValueKind.Tensor, (OnnxElementType)(int)metadata.ElementDataType, shape, symbolic);
    }

    private static Ort.SessionOptions CreateSessionOptions(OnnxSessionOptions options)
    {
        var sessionOptions = new Ort.SessionOptions();
        try
        {
            sessionOptions.IntraOpNumThreads = options.IntraOpThreads;
            sessionOptions.InterOpNumThreads = options.InterOpThreads;
            sessionOptions.ExecutionMode = Ort.ExecutionMode.ORT_SEQUENTIAL;
            sessionOptions.GraphOptimizationLevel = (Ort.GraphOptimizationLevel)options.GraphOptimizationLevel;
            sessionOptions.EnableCpuMemArena = options.EnableCpuMemArena;
            if (!options.AllowSpinning)
            {
                sessionOptions.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
                sessionOptions.AddSessionConfigEntry("session.inter_op.allow_spinning", "0");
            }

            return sessionOptions;
        }
        catch
        {
            sessionOptions.Dispose();
            throw;
        }
    }

    private string[] InputNamesOf(int[] resolved)
    {
        bool inModelOrder = resolved.Length == _inputNames.Length;
        for (int i = 0; i < resolved.Length && inModelOrder; i++)
        {
            inModelOrder = resolved[i] == i;
        }

        return inModelOrder ? _inputNames : Array.ConvertAll(resolved, i => _inputNames[i]);
    }

    /// <summary>The elements a shape holds, long.MaxValue when that overflows.</summary>
    internal static long ElementCount(long[] shape)
    {
        long count = 1;
        foreach (long dimension in shape)
        {
            count = dimension == 0 || count <= long.MaxValue / dimension ? count * dimension : long.MaxValue;
        }

        return count;
    }

    private bool TryAddReference()
    {
        int current = Volatile.Read(ref _references);
        while (current > 0)
        {
            int seen = Interlocked.CompareExchange(ref _references, current + 1, current);
            if (seen == current)
            {
                return true;
            }

            current = seen;
        }

        return false;
    }

    private void ReleaseReference()
    {
        if (Interlocked.Decrement(ref _references) == 0)
        {
            for (int i = 0; i < _idleBoundRuns.Length; i++)
            {
                Interlocked.Exchange(ref _idleBoundRuns[i], null)?.Dispose();
            }

            _session.Dispose();
            _sharedRunOptions.Dispose();
            for (int i = 0; i < _idleRunOptions.Length; i++)
            {
                Interlocked.Exchange(ref _idleRunOptions[i], null)?.Dispose();
            }
        }
    }

    private Ort.RunOptions RentRunOptions()
    {
        for (int i = 0; i < _idleRunOptions.Length; i++)
        {
            if (Interlocked.Exchange(ref _idleRunOptions[i], null) is { } idle)
            {
                return idle;
            }
        }

        return new Ort.RunOptions();
    }

    /// <summary>Back for the next run once its registration is gone (no late callback can terminate the next run), un-terminated.</summary>
    private void ReturnRunOptions(Ort.RunOptions runOptions)
    {
        try
        {
            if (runOptions.Terminate)
            {
                runOptions.Terminate = false;
            }

            for (int i = 0; i < _idleRunOptions.Length; i++)
            {
                if (Interlocked.CompareExchange(ref _idleRunOptions[i], runOptions, null) is null)
                {
                    return;
                }
            }
        }
        catch (Ort.OnnxRuntimeException)
        {
            // Could not be reset: not reused.
        }

        runOptions.Dispose();
    }

    private void ValidateInputs(ReadOnlySpan<OnnxInput> inputs, Span<int> resolved)
    {
        if (inputs.Length > _inputs.Length)
        {
            throw new ArgumentException($"The model has {_inputs.Length} input(s) but {inputs.Length} were given.", nameof(inputs));
        }

        Span<bool> seen = _inputs.Length <= 256 ? stackalloc bool[_inputs.Length] : new bool[_inputs.Length];
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


    private static Array Allocate(OnnxElementType type, long elements, string name)
    {
        if (elements > Array.MaxLength)
        {
            throw new NotSupportedException($"Output '{name}' has {elements} elements, more than a managed array holds.");
        }

        int count = (int)elements;
        return type switch
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

    /// <summary>One run's arguments, as the managed API takes them.</summary>
    private readonly record struct RunRequest(
        string[] InputNames, Ort.OrtValue[] InputValues, int[] Outputs, string[] OutputNames, Ort.RunOptions RunOptions, CancellationToken CancellationToken);

    /// <summary>An output dimension: fixed at <see cref="Size"/> when <see cref="Input"/> is -1, else that input's <see cref="Dimension"/>.</summary>
    private readonly record struct DimensionSource(int Input, int Dimension, long Size);

    [System.Runtime.CompilerServices.InlineArray(Length)]
    private struct PinnedInputs
    {
        public const int Length = 8;
        private MemoryHandle _first;
    }
}
