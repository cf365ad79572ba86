namespace TrainedModelsOrleans.Grains.Storage;

/// <summary>A grain's identity: its type name and its key, printed as "type/key" (as Orleans prints it).</summary>
public readonly record struct StateKey(string Type, string Key)
{
    public override string ToString() => Type + "/" + Key;
}
