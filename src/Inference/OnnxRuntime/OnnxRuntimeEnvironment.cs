using Ort = Microsoft.ML.OnnxRuntime;

namespace TrainedModelsOrleans.Inference.OnnxRuntime;

/// <summary>
/// The process-wide ONNX Runtime environment (ORT allows one per process), created before the first
/// session. The native library comes with the Microsoft.ML.OnnxRuntime package.
/// </summary>
public static class OnnxRuntimeEnvironment
{
    private static readonly Lazy<Ort.OrtEnv> Env = new(Create);

    /// <summary>ONNX Runtime's version, e.g. "1.32.0".</summary>
    public static string Version => Env.Value.GetVersionString();

    internal static void EnsureCreated() => _ = Env.Value;

    private static Ort.OrtEnv Create()
    {
        // Fatal only: errors reach callers as exceptions; at ERROR, ORT also prints kernel failures
        // (e.g. a Gather index out of range) to stderr.
        const Ort.OrtLoggingLevel level = Ort.OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL;
        if (!Ort.OrtEnv.IsCreated)
        {
            var options = new Ort.EnvironmentCreationOptions { logId = "TrainedModelsOrleans", logLevel = level };
            try
            {
                return Ort.OrtEnv.CreateInstanceWithOptions(ref options);
            }
            catch (Ort.OnnxRuntimeException) when (Ort.OrtEnv.IsCreated)
            {
                // Someone else created it first (the check above is not atomic): fall through.
            }
        }

        Ort.OrtEnv env = Ort.OrtEnv.Instance();
        env.EnvLogLevel = level;
        return env;
    }
}
