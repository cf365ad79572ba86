using TrainedModelsOrleans.Inference.OnnxRuntime;

namespace TrainedModelsOrleans.Inference.Tests;

public class OrtLibraryTests
{
    [Fact]
    public void Library_loads_and_reports_version_1_30_0()
    {
        Assert.True(OrtLibrary.TryLoad(out string? error), error);
        Assert.Null(error);
        Assert.Equal("1.30.0", OrtLibrary.VersionString);
        Assert.EndsWith("libonnxruntime.so.1", OrtLibrary.LoadedPath);
    }

    [Fact]
    public void Library_is_found_next_to_the_app()
    {
        Assert.Contains(Path.Combine(AppContext.BaseDirectory, OrtLibrary.LibraryFileName), OrtLibrary.CandidatePaths());
        Assert.True(File.Exists(Path.Combine(AppContext.BaseDirectory, OrtLibrary.LibraryFileName)));
    }
}
