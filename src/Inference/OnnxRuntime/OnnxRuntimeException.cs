namespace TrainedModelsOrleans.Inference.OnnxRuntime;

/// <summary>An error status returned by ONNX Runtime, with its code and ORT's own message.</summary>
public sealed class OnnxRuntimeException : Exception
{
    public OnnxRuntimeException(int errorCode, string ortMessage, string operation)
        : base($"{operation} failed: ONNX Runtime error {NameOf(errorCode)} ({errorCode}): {ortMessage}")
    {
        ErrorCode = errorCode;
        OrtMessage = ortMessage;
    }

    /// <summary>OrtErrorCode: 1 FAIL, 2 INVALID_ARGUMENT, 3 NO_SUCHFILE, ..., 7 INVALID_PROTOBUF, 9 NOT_IMPLEMENTED, 10 INVALID_GRAPH.</summary>
    public int ErrorCode { get; }

    /// <summary>The name of <see cref="ErrorCode"/>, e.g. "INVALID_PROTOBUF".</summary>
    public string ErrorCodeName => NameOf(ErrorCode);

    /// <summary>The message exactly as ONNX Runtime wrote it.</summary>
    public string OrtMessage { get; }

    public static string NameOf(int errorCode) => errorCode switch
    {
        0 => "OK",
        1 => "FAIL",
        2 => "INVALID_ARGUMENT",
        3 => "NO_SUCHFILE",
        4 => "NO_MODEL",
        5 => "ENGINE_ERROR",
        6 => "RUNTIME_EXCEPTION",
        7 => "INVALID_PROTOBUF",
        8 => "MODEL_LOADED",
        9 => "NOT_IMPLEMENTED",
        10 => "INVALID_GRAPH",
        11 => "EP_FAIL",
        _ => "UNKNOWN",
    };
}
