namespace TrainedModelsOrleans.Runtime;

/// <summary>Base class of grain implementations (Orleans' Grain).</summary>
public abstract class Grain
{
    internal Catalog.ActivationData? Activation { get; set; }

    private Catalog.ActivationData RequireActivation =>
        Activation ?? throw new InvalidOperationException("The grain is not activated by the runtime.");

    /// <summary>The string key this activation was created for.</summary>
    public string GetPrimaryKeyString() => RequireActivation.Key;

    protected IGrainFactory GrainFactory => RequireActivation.Runtime.GrainFactory;

    /// <summary>Asks the runtime to deactivate this activation once the current request completes.</summary>
    protected void DeactivateOnIdle() => RequireActivation.DeactivateOnIdle();

    public virtual Task OnActivateAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public virtual Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken) => Task.CompletedTask;
}

public enum DeactivationReason
{
    ApplicationRequested,
    IdleCollection,
    InconsistentState,
    ShuttingDown,
    DuplicateActivation,
}
