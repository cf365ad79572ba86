using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Inference.OnnxRuntime;
using TrainedModelsOrleans.Inference.Serving;

namespace TrainedModelsOrleans.Grains.Serving;

/// <summary>Elasticsearch's answers for what can go wrong while serving a request.</summary>
public static class ServingErrors
{
    public static Exception Map(Exception error, string deploymentId) => error switch
    {
        ElasticsearchException => error,
        QueueFullException full => new ElasticsearchException(429, "es_rejected_execution_exception", full.Message),
        InferenceTimeoutException timeout => new ElasticsearchException(408, "status_exception", timeout.Message),
        ExecutorStoppedException stopped => ElasticsearchException.Conflict($"Trained model deployment [{deploymentId}] is stopping: {stopped.Message}"),
        OnnxRuntimeException ort => ElasticsearchException.BadRequest($"ONNX Runtime could not run model deployment [{deploymentId}]: {ort.OrtMessage}"),
        ArgumentException invalid => ElasticsearchException.BadRequest($"Invalid input for model deployment [{deploymentId}]: {invalid.Message}"),
        _ => error,
    };
}
