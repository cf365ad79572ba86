namespace TrainedModelsOrleans.Grains;

/// <summary>Names this assembly for the silo's grain registration.</summary>
public static class GrainsAssembly;
