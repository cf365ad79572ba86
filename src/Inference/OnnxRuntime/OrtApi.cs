using System.Runtime.CompilerServices;

namespace TrainedModelsOrleans.Inference.OnnxRuntime;

/// <summary>
/// The function pointers we use from ONNX Runtime's <c>OrtApi</c> table (API version 30).
/// Slots are zero-based indices into <c>struct OrtApi</c> in onnxruntime_c_api.h; the table is
/// append-only, so a slot never moves. Every function returning a pointer is an <c>OrtStatus*</c>
/// (NULL = success) unless noted. Enums are C ints.
/// </summary>
internal sealed unsafe class OrtApi
{
    public const uint ApiVersion = 30;

    // Status
    public readonly delegate* unmanaged<void*, int> GetErrorCode;                          // 1, returns OrtErrorCode
    public readonly delegate* unmanaged<void*, byte*> GetErrorMessage;                     // 2, owned by the status
    public readonly delegate* unmanaged<void*, void> ReleaseStatus;                        // 93

    // Env
    public readonly delegate* unmanaged<int, byte*, void**, void*> CreateEnv;               // 3 (severity, logid, out env)

    // Session options
    public readonly delegate* unmanaged<void**, void*> CreateSessionOptions;                // 10
    public readonly delegate* unmanaged<void*, void*> EnableCpuMemArena;                    // 18
    public readonly delegate* unmanaged<void*, void*> DisableCpuMemArena;                   // 19
    public readonly delegate* unmanaged<void*, int, void*> SetSessionGraphOptimizationLevel; // 23
    public readonly delegate* unmanaged<void*, int, void*> SetIntraOpNumThreads;            // 24
    public readonly delegate* unmanaged<void*, int, void*> SetInterOpNumThreads;            // 25
    public readonly delegate* unmanaged<void*, byte*, byte*, void*> AddSessionConfigEntry;  // 130
    public readonly delegate* unmanaged<void*, void> ReleaseSessionOptions;                 // 100

    // Session
    public readonly delegate* unmanaged<void*, void*, nuint, void*, void**, void*> CreateSessionFromArray; // 8
    public readonly delegate* unmanaged<void*, void*, byte**, void**, nuint, byte**, nuint, void**, void*> Run; // 9
    public readonly delegate* unmanaged<void*, nuint*, void*> SessionGetInputCount;         // 30
    public readonly delegate* unmanaged<void*, nuint*, void*> SessionGetOutputCount;        // 31
    public readonly delegate* unmanaged<void*, nuint, void**, void*> SessionGetInputTypeInfo;  // 33
    public readonly delegate* unmanaged<void*, nuint, void**, void*> SessionGetOutputTypeInfo; // 34
    public readonly delegate* unmanaged<void*, nuint, void*, byte**, void*> SessionGetInputName;  // 36 (allocator-owned string)
    public readonly delegate* unmanaged<void*, nuint, void*, byte**, void*> SessionGetOutputName; // 37
    public readonly delegate* unmanaged<void*, void> ReleaseSession;                        // 95

    // Run options
    public readonly delegate* unmanaged<void**, void*> CreateRunOptions;                    // 39
    public readonly delegate* unmanaged<void*, void*> RunOptionsSetTerminate;               // 46
    public readonly delegate* unmanaged<void*, void> ReleaseRunOptions;                     // 97

    // Values
    public readonly delegate* unmanaged<void*, void*, nuint, long*, nuint, int, void**, void*> CreateTensorWithDataAsOrtValue; // 49, does not copy
    public readonly delegate* unmanaged<void*, void**, void*> GetTensorMutableData;         // 51
    public readonly delegate* unmanaged<void*, void**, void*> GetTensorTypeAndShape;        // 65 (owned: release it)
    public readonly delegate* unmanaged<void*, int*, void*> GetValueType;                   // 67, ONNXType
    public readonly delegate* unmanaged<void*, void> ReleaseValue;                          // 96

    // Type info
    public readonly delegate* unmanaged<void*, void**, void*> CastTypeInfoToTensorInfo;     // 55, borrowed; NULL for non-tensors
    public readonly delegate* unmanaged<void*, int*, void*> GetOnnxTypeFromTypeInfo;        // 56
    public readonly delegate* unmanaged<void*, int*, void*> GetTensorElementType;           // 60
    public readonly delegate* unmanaged<void*, nuint*, void*> GetDimensionsCount;           // 61
    public readonly delegate* unmanaged<void*, long*, nuint, void*> GetDimensions;          // 62
    public readonly delegate* unmanaged<void*, byte**, nuint, void*> GetSymbolicDimensions; // 63, strings owned by the info
    public readonly delegate* unmanaged<void*, void> ReleaseTypeInfo;                       // 98
    public readonly delegate* unmanaged<void*, void> ReleaseTensorTypeAndShapeInfo;         // 99

    // Memory
    public readonly delegate* unmanaged<int, int, void**, void*> CreateCpuMemoryInfo;       // 69 (allocator type, mem type)
    public readonly delegate* unmanaged<void*, void*, void*> AllocatorFree;                 // 76
    public readonly delegate* unmanaged<void**, void*> GetAllocatorWithDefaultOptions;      // 78, never release it
    public readonly delegate* unmanaged<void*, void> ReleaseMemoryInfo;                     // 94

    public OrtApi(void** table)
    {
        GetErrorCode = (delegate* unmanaged<void*, int>)table[1];
        GetErrorMessage = (delegate* unmanaged<void*, byte*>)table[2];
        CreateEnv = (delegate* unmanaged<int, byte*, void**, void*>)table[3];
        CreateSessionFromArray = (delegate* unmanaged<void*, void*, nuint, void*, void**, void*>)table[8];
        Run = (delegate* unmanaged<void*, void*, byte**, void**, nuint, byte**, nuint, void**, void*>)table[9];
        CreateSessionOptions = (delegate* unmanaged<void**, void*>)table[10];
        EnableCpuMemArena = (delegate* unmanaged<void*, void*>)table[18];
        DisableCpuMemArena = (delegate* unmanaged<void*, void*>)table[19];
        SetSessionGraphOptimizationLevel = (delegate* unmanaged<void*, int, void*>)table[23];
        SetIntraOpNumThreads = (delegate* unmanaged<void*, int, void*>)table[24];
        SetInterOpNumThreads = (delegate* unmanaged<void*, int, void*>)table[25];
        SessionGetInputCount = (delegate* unmanaged<void*, nuint*, void*>)table[30];
        SessionGetOutputCount = (delegate* unmanaged<void*, nuint*, void*>)table[31];
        SessionGetInputTypeInfo = (delegate* unmanaged<void*, nuint, void**, void*>)table[33];
        SessionGetOutputTypeInfo = (delegate* unmanaged<void*, nuint, void**, void*>)table[34];
        SessionGetInputName = (delegate* unmanaged<void*, nuint, void*, byte**, void*>)table[36];
        SessionGetOutputName = (delegate* unmanaged<void*, nuint, void*, byte**, void*>)table[37];
        CreateRunOptions = (delegate* unmanaged<void**, void*>)table[39];
        RunOptionsSetTerminate = (delegate* unmanaged<void*, void*>)table[46];
        CreateTensorWithDataAsOrtValue = (delegate* unmanaged<void*, void*, nuint, long*, nuint, int, void**, void*>)table[49];
        GetTensorMutableData = (delegate* unmanaged<void*, void**, void*>)table[51];
        CastTypeInfoToTensorInfo = (delegate* unmanaged<void*, void**, void*>)table[55];
        GetOnnxTypeFromTypeInfo = (delegate* unmanaged<void*, int*, void*>)table[56];
        GetTensorElementType = (delegate* unmanaged<void*, int*, void*>)table[60];
        GetDimensionsCount = (delegate* unmanaged<void*, nuint*, void*>)table[61];
        GetDimensions = (delegate* unmanaged<void*, long*, nuint, void*>)table[62];
        GetSymbolicDimensions = (delegate* unmanaged<void*, byte**, nuint, void*>)table[63];
        GetTensorTypeAndShape = (delegate* unmanaged<void*, void**, void*>)table[65];
        GetValueType = (delegate* unmanaged<void*, int*, void*>)table[67];
        CreateCpuMemoryInfo = (delegate* unmanaged<int, int, void**, void*>)table[69];
        AllocatorFree = (delegate* unmanaged<void*, void*, void*>)table[76];
        GetAllocatorWithDefaultOptions = (delegate* unmanaged<void**, void*>)table[78];
        ReleaseStatus = (delegate* unmanaged<void*, void>)table[93];
        ReleaseMemoryInfo = (delegate* unmanaged<void*, void>)table[94];
        ReleaseSession = (delegate* unmanaged<void*, void>)table[95];
        ReleaseValue = (delegate* unmanaged<void*, void>)table[96];
        ReleaseRunOptions = (delegate* unmanaged<void*, void>)table[97];
        ReleaseTypeInfo = (delegate* unmanaged<void*, void>)table[98];
        ReleaseTensorTypeAndShapeInfo = (delegate* unmanaged<void*, void>)table[99];
        ReleaseSessionOptions = (delegate* unmanaged<void*, void>)table[100];
        AddSessionConfigEntry = (delegate* unmanaged<void*, byte*, byte*, void*>)table[130];
    }

    /// <summary>
    /// Throws <see cref="OnnxRuntimeException"/> for a non-NULL status, releasing it. The message is
    /// "operation 'subject' failed: ..."; it is only formatted on failure, keeping the hot path free of allocations.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Check(void* status, string operation, string? subject = null)
    {
        if (status != null)
        {
            ThrowFromStatus(status, subject is null ? operation : $"{operation} '{subject}'");
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowFromStatus(void* status, string operation) => throw ToException(status, operation);

    /// <summary>Turns a non-NULL status into an exception and releases the status.</summary>
    public OnnxRuntimeException ToException(void* status, string operation)
    {
        // The message pointer belongs to the status: copy it before releasing.
        int code = GetErrorCode(status);
        string message = System.Runtime.InteropServices.Marshal.PtrToStringUTF8((nint)GetErrorMessage(status)) ?? string.Empty;
        ReleaseStatus(status);
        return new OnnxRuntimeException(code, message, operation);
    }

    /// <summary>Releases a status without looking at it (for clean-up paths).</summary>
    public void Ignore(void* status)
    {
        if (status != null)
        {
            ReleaseStatus(status);
        }
    }
}
