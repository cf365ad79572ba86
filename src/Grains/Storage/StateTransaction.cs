using Orleans.Storage;
using Npgsql;

namespace TrainedModelsOrleans.Grains.Storage;

/// <summary>
/// Commits the states of several grains (each with its ETag check) and extra SQL in one PostgreSQL
/// transaction: all or nothing. States' ETags move only after the commit succeeded; on any failure
/// (a stale ETag throws InconsistentStateException, a constraint throws PostgresException) nothing
/// is stored and every state keeps its old ETag, so the caller can re-read and retry.
/// </summary>
public sealed class StateTransaction
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly List<Func<NpgsqlConnection, NpgsqlTransaction, CancellationToken, Task<Action>>> _steps = new();
    private bool _committed;

    internal StateTransaction(NpgsqlDataSource dataSource) => _dataSource = dataSource;

    /// <summary>Writes state.State with state's ETag check.</summary>
    public StateTransaction Write<T>(IStoredState<T> state) where T : new()
    {
        var bound = Bound(state);
        var json = bound.Storage.Serialize(bound.State);
        _steps.Add(async (connection, transaction, ct) =>
        {
            var etag = await GrainStorage.WriteAsync(connection, transaction, bound.StateKey, bound.StateName, json, bound.Etag, ct);
            return () => bound.Committed(etag, recordExists: true, cleared: false);
        });
        return this;
    }

    /// <summary>Clears the state with its ETag check.</summary>
    public StateTransaction Clear<T>(IStoredState<T> state) where T : new()
    {
        var bound = Bound(state);
        _steps.Add(async (connection, transaction, ct) =>
        {
            var etag = await GrainStorage.ClearAsync(connection, transaction, bound.StateKey, bound.StateName, bound.Etag, ct);
            return () => bound.Committed(etag, recordExists: false, cleared: true);
        });
        return this;
    }

    /// <summary>Runs a statement in the transaction. With expectedRows, another count aborts everything.</summary>
    public StateTransaction Execute(string sql, IReadOnlyList<object?> parameters, int? expectedRows = null)
    {
        _steps.Add(async (connection, transaction, ct) =>
        {
            await using var command = new NpgsqlCommand(sql, connection, transaction);
            foreach (var value in parameters) command.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value });
            var rows = await command.ExecuteNonQueryAsync(ct);
            if (expectedRows is int expected && rows != expected)
                throw new TransactionAbortedException($"Expected {expected} row(s) from \"{FirstLine(sql)}\", got {rows}.");
            return static () => { };
        });
        return this;
    }

    public async Task CommitAsync(CancellationToken cancellationToken = default)
    {
        if (_committed) throw new InvalidOperationException("This transaction was already committed.");
        _committed = true;
        var onCommitted = new List<Action>(_steps.Count);
        await using (var connection = await _dataSource.OpenConnectionAsync(cancellationToken))
        await using (var transaction = await connection.BeginTransactionAsync(cancellationToken))
        {
            foreach (var step in _steps) onCommitted.Add(await step(connection, transaction, cancellationToken));
            await transaction.CommitAsync(cancellationToken);
        }
        foreach (var action in onCommitted) action();
    }

    private static StoredState<T> Bound<T>(IStoredState<T> state) where T : new() =>
        state as StoredState<T>
        ?? throw new ArgumentException("Only states created by this runtime can join a transaction.", nameof(state));

    private static string FirstLine(string sql) => sql.Trim().Split('\n')[0].Trim();
}

/// <summary>A transaction step found the world not as expected; nothing was committed.</summary>
public sealed class TransactionAbortedException(string message) : Exception(message);

/// <summary>Starts state transactions and opens detached states of any grain (for coordinators).</summary>
public sealed class GrainStateStore(GrainStorage storage)
{
    public StateTransaction BeginTransaction() => new(storage.DataSource);

    /// <summary>Reads another grain's state outside its activation, e.g. to commit it in a transaction.</summary>
    public async Task<IStoredState<T>> ReadAsync<T>(StateKey grain, string stateName, CancellationToken cancellationToken = default)
        where T : new()
    {
        var state = new StoredState<T>(storage, grain, stateName);
        await state.ReadStateAsync(cancellationToken);
        return state;
    }
}
