namespace TrainedModelsOrleans.Runtime.Messaging;

/// <summary>What a call addresses; the transport carries it opaquely except for <see cref="TargetGeneration"/>.</summary>
/// <param name="Interface">The full type name of the target's interface.</param>
/// <param name="Key">The target's key.</param>
/// <param name="Method">The method key.</param>
/// <param name="TargetGeneration">The generation of the silo the caller means to reach; 0 = whichever answers (a client to a gateway).</param>
/// <param name="Timeout">The caller's remaining deadline; <see cref="System.Threading.Timeout.InfiniteTimeSpan"/> for none.</param>
/// <param name="OnSilo">An optional placement directive, passed through.</param>
public readonly record struct CallHeader(string Interface, string Key, string Method, long TargetGeneration, TimeSpan Timeout, string? OnSilo = null);
