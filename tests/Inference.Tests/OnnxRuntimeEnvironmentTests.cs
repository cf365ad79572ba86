using TrainedModelsOrleans.Inference.OnnxRuntime;

namespace TrainedModelsOrleans.Inference.Tests;

public class OnnxRuntimeEnvironmentTests
{
    [Fact]
    public void Runtime_reports_version_1_32_0()
    {
        Assert.Equal("1.32.0", OnnxRuntimeEnvironment.Version);
    }

    [Fact]
    public void Native_library_comes_with_the_package_next_to_the_app()
    {
        Assert.True(File.Exists(Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libonnxruntime.so")));
    }
}
