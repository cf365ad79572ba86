namespace TrainedModelsOrleans.Runtime.Hosting;

/// <summary>
/// Runs first when the silo stops, while it still serves grain calls (an Orleans lifecycle stage):
/// e.g. a node leaving a plan so its work moves elsewhere before its activations go.
/// </summary>
public interface ISiloShutdownParticipant
{
    Task OnSiloStoppingAsync(CancellationToken cancellationToken);
}
