namespace TrainedModelsOrleans.Runtime.Serialization;

/// <summary>The declared result type of a method that returns nothing (Task, ValueTask, void): serialized as an empty payload.</summary>
public sealed class NoResult
{
    private NoResult() { }
}
