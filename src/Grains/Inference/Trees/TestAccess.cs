using System.Runtime.CompilerServices;

// The evaluator's tests measure the compiled trees directly, without a document around them.
[assembly: InternalsVisibleTo("TrainedModelsOrleans.TreeInference.Tests")]
