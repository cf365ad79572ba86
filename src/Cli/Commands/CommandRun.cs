using TrainedModelsOrleans.Cli.Service;
using TrainedModelsOrleans.Cli.Upload;

namespace TrainedModelsOrleans.Cli.Commands;

/// <summary>
/// Runs a command's work and turns its failures into a message on stderr and an exit code:
/// 0 done; 1 the service refused (its Elasticsearch reason is printed) or the input is wrong; 2 the service could not be reached;
/// 130 interrupted (Ctrl+C), as shells report SIGINT.
/// </summary>
public static class CommandRun
{
    public const int Refused = 1;
    public const int Unreachable = 2;
    public const int Interrupted = 130;

    public static async Task<int> RunAsync(Func<Task> work, CancellationToken cancellationToken)
    {
        try
        {
            await work();
            return 0;
        }
        catch (ServiceRefusedException e)
        {
            await Console.Error.WriteLineAsync($"error: {e.Message}");
            return Refused;
        }
        catch (ServiceUnreachableException e)
        {
            await Console.Error.WriteLineAsync($"error: {e.Message}");
            return Unreachable;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await Console.Error.WriteLineAsync("interrupted; an upload resumes where it stopped when the same command runs again");
            return Interrupted;
        }
        catch (HttpRequestException e) when (e.InnerException is System.Security.Authentication.AuthenticationException tls)
        {
            await Console.Error.WriteLineAsync($"error: the service's TLS certificate was not accepted ({tls.Message}); " +
                "for a certificate of a private authority give its PEM file with --ca-certificate");
            return Unreachable;
        }
        catch (HttpRequestException e)
        {
            await Console.Error.WriteLineAsync($"error: the service could not be reached: {e.Message}");
            return Unreachable;
        }
        catch (Exception e) when (e is UploadConflictException or FormatException or ArgumentException or IOException or System.Text.Json.JsonException)
        {
            await Console.Error.WriteLineAsync($"error: {e.Message}");
            return Refused;
        }
    }
}
