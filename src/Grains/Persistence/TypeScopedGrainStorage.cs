using Orleans;
using Orleans.Runtime;
using Orleans.Storage;

namespace TrainedModelsOrleans.Grains.Persistence;

/// <summary>
/// Stores every grain state under the key "&lt;grain type&gt;/&lt;key&gt;", then hands it to the ADO.NET storage.
/// Two flaws of that storage's row key are closed this way: it ignores the grain type (only the state name scopes
/// it, dotnet/orleans#8746), and it stores a string key that reads as hexadecimal ("d1", "01") as a number, so the
/// ids "1" and "01" would share one row. A typed key always contains '/', so it is always stored as the string it is,
/// which also keeps the rows readable (<c>grainidextensionstring = 'deployment/my-deployment'</c>).
/// </summary>
public sealed class TypeScopedGrainStorage(IGrainStorage inner) : IGrainStorage
{
    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        inner.ReadStateAsync(stateName, Scoped(grainId), grainState);

    public Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        inner.WriteStateAsync(stateName, Scoped(grainId), grainState);

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        inner.ClearStateAsync(stateName, Scoped(grainId), grainState);

    public static GrainId Scoped(GrainId grainId) => GrainId.Create(grainId.Type, grainId.Type + "/" + grainId.Key);
}
