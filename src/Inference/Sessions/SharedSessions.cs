using System.Collections.Concurrent;
using TrainedModelsOrleans.Inference.OnnxRuntime;

namespace TrainedModelsOrleans.Inference.Sessions;

/// <summary>
/// The ONNX Runtime sessions open in this process, one per key (a deployment on this node), shared by
/// every caller: weights are held once however many workers run on them. Opening is single-flight.
/// </summary>
public sealed class SharedSessions : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<Task<OpenSession>>> _sessions = new(StringComparer.Ordinal);

    /// <summary>Opens the session once; later callers with the same key get the same session.</summary>
    public async Task<OpenSession> GetOrOpenAsync(string key, Func<CancellationToken, Task<byte[]>> loadModel, OnnxSessionOptions options,
        CancellationToken cancellationToken)
    {
        var entry = _sessions.GetOrAdd(key, k => new Lazy<Task<OpenSession>>(() => OpenAsync(k, loadModel, options)));
        try
        {
            return await entry.Value.WaitAsync(cancellationToken);
        }
        catch (Exception) when (entry.Value.IsFaulted)
        {
            // A failed open is not cached: the next attempt tries again.
            _sessions.TryRemove(new KeyValuePair<string, Lazy<Task<OpenSession>>>(key, entry));
            throw;
        }
    }

    public IReadOnlyCollection<string> Keys => _sessions.Keys.ToArray();

    /// <summary>Closes the session; calls already running finish first (the session is ref-counted).</summary>
    public async Task CloseAsync(string key)
    {
        if (!_sessions.TryRemove(key, out var entry)) return;
        try
        {
            (await entry.Value).Session.Dispose();
        }
        catch (Exception) when (entry.Value.IsFaulted)
        {
            // It never opened: nothing to close.
        }
    }

    public void Dispose()
    {
        foreach (var key in _sessions.Keys) _ = CloseAsync(key);
    }

    private static async Task<OpenSession> OpenAsync(string key, Func<CancellationToken, Task<byte[]>> loadModel, OnnxSessionOptions options)
    {
        var bytes = await loadModel(CancellationToken.None).ConfigureAwait(false);
        // Creating a session is CPU work of up to seconds for big models: keep it off the caller's turn.
        var session = await Task.Run(() => new OnnxSession(bytes, options)).ConfigureAwait(false);
        return new OpenSession(key, session, options, bytes.LongLength, DateTimeOffset.UtcNow);
    }
}

public sealed record OpenSession(string Key, OnnxSession Session, OnnxSessionOptions Options, long ModelBytes, DateTimeOffset OpenedAt);
