namespace TrainedModelsOrleans.Cli.Service;

/// <summary>The service answered a request with an error it will not get over by itself (a 4xx, or a 5xx after every retry).</summary>
public sealed class ServiceRefusedException(string what, ServiceAnswer answer)
    : Exception($"{what}: [{answer.Status}] {(answer.ErrorType is { } type ? type + ": " : "")}{answer.Reason}")
{
    public ServiceAnswer Answer { get; } = answer;
}

/// <summary>The service could not be reached (connection refused, reset or timed out) after every retry.</summary>
public sealed class ServiceUnreachableException(string what, Exception cause)
    : Exception($"{what}: the service could not be reached: {cause.Message}", cause);
