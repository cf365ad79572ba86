using System.Runtime.CompilerServices;

// The task processors' math is unit-tested as plain classes.
[assembly: InternalsVisibleTo("TrainedModelsOrleans.Nlp.Tests")]
