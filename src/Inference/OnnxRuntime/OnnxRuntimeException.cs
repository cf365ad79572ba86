using Ort = Microsoft.ML.OnnxRuntime;

namespace TrainedModelsOrleans.Inference.OnnxRuntime;

/// <summary>An error reported by ONNX Runtime, with its code and ORT's own message.</summary>
public sealed class OnnxRuntimeException : Exception
{
    // The managed API prefixes ORT's message with the name of its ErrorCode: "[ErrorCode:InvalidProtobuf] ...".
    private const string CodePrefix = "[ErrorCode:";

    private static readonly Dictionary<string, int> CodesByManagedName = new(StringComparer.Ordinal)
    {
        ["Ok"] = 0,
        ["Fail"] = 1,
        ["InvalidArgument"] = 2,
        ["NoSuchFile"] = 3,
        ["NoModel"] = 4,
        ["EngineError"] = 5,
        ["RuntimeException"] = 6,
        ["InvalidProtobuf"] = 7,
        ["ModelLoaded"] = 8,
        ["NotImplemented"] = 9,
        ["InvalidGraph"] = 10,
        ["ShapeInferenceNotRegistered"] = 11,
        ["RequirementNotRegistered"] = 12,
    };

    public OnnxRuntimeException(int errorCode, string ortMessage, string operation, Exception? innerException = null)
        : base($"{operation} failed: ONNX Runtime error {NameOf(errorCode)} ({errorCode}): {ortMessage}", innerException)
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

    /// <summary>Ours from the managed API's exception, which carries the code only as a name in its message.</summary>
    internal static OnnxRuntimeException From(Ort.OnnxRuntimeException error, string operation)
    {
        string message = error.Message;
        int code = -1;
        int end = message.IndexOf(']', StringComparison.Ordinal);
        if (message.StartsWith(CodePrefix, StringComparison.Ordinal) && end > 0)
        {
            code = CodesByManagedName.GetValueOrDefault(message[CodePrefix.Length..end], -1);
            message = message[(end + 1)..].TrimStart();
        }

        return new OnnxRuntimeException(code, message, operation, error);
    }
}
