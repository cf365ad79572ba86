using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace TrainedModelsOrleans.TestSupport;

/// <summary>An ILogger that writes to a test's output, shown by the runner when the test fails.</summary>
public sealed class TestOutputLogger(ITestOutputHelper output, LogLevel minimumLevel = LogLevel.Debug) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= minimumLevel;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel)) return;
        try
        {
            output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel}: {formatter(state, exception)}{(exception is null ? "" : "\n" + exception)}");
        }
        catch (InvalidOperationException)
        {
            // The test has finished; its output is closed.
        }
    }
}
