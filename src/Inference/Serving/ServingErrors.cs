namespace TrainedModelsOrleans.Inference.Serving;

/// <summary>The deployment's queue on this node is full (ES answers 429 es_rejected_execution_exception).</summary>
public sealed class QueueFullException(int capacity)
    : Exception("inference process queue is full. Unable to execute command")
{
    public int Capacity { get; } = capacity;
}

/// <summary>The request waited past its timeout (ES answers 408).</summary>
public sealed class InferenceTimeoutException(TimeSpan timeout)
    : TimeoutException($"timeout [{TimeValueText(timeout)}] waiting for inference result")
{
    public TimeSpan Timeout { get; } = timeout;

    /// <summary>Elasticsearch's TimeValue text: 10s, 500ms, 1.5m.</summary>
    public static string TimeValueText(TimeSpan value) =>
        value.TotalMilliseconds < 1000 ? $"{value.TotalMilliseconds:0.#}ms"
        : value.TotalSeconds < 60 ? $"{value.TotalSeconds:0.#}s"
        : value.TotalMinutes < 60 ? $"{value.TotalMinutes:0.#}m"
        : $"{value.TotalHours:0.#}h";
}

/// <summary>The deployment stopped on this node before the request ran.</summary>
public sealed class ExecutorStoppedException(string message) : Exception(message);
