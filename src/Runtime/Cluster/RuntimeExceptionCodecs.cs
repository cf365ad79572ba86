using System.Text.Json.Nodes;
using TrainedModelsOrleans.Runtime.Catalog;
using TrainedModelsOrleans.Runtime.Serialization;
using TrainedModelsOrleans.Runtime.Transactions;

namespace TrainedModelsOrleans.Runtime.Cluster;

/// <summary>The runtime's own exceptions keep their type across silos: callers catch them by type (e.g. retry on InconsistentState).</summary>
public static class RuntimeExceptionCodecs
{
    public static IReadOnlyList<IExceptionCodec> All { get; } =
    [
        new Codec<InconsistentStateException>("runtime.inconsistent_state",
            e => new JsonObject { ["stored"] = e.StoredEtag, ["current"] = e.CurrentEtag },
            (message, data) => new InconsistentStateException(message, (string?)data["stored"], (string?)data["current"])),
        new Codec<SiloUnavailableException>("runtime.silo_unavailable", e => new JsonObject { ["may_have_run"] = e.MayHaveRun },
            (message, data) => new SiloUnavailableException(message) { MayHaveRun = (bool?)data["may_have_run"] ?? true }),
        new Codec<TransactionAbortedException>("runtime.transaction_aborted", _ => [], (message, _) => new TransactionAbortedException(message)),
        new Codec<ActivationFailedException>("runtime.activation_failed", _ => [], (message, _) => new ActivationFailedException(message)),
    ];

    /// <summary>Builds a WireSerializer with the host's codecs first, then the runtime's.</summary>
    public static WireSerializer Serializer(System.Text.Json.JsonSerializerOptions? options, IEnumerable<IExceptionCodec>? hostCodecs) =>
        new(options, [.. hostCodecs ?? [], .. All]);

    private sealed class Codec<T>(string kind, Func<T, JsonObject> encode, Func<string, JsonObject, Exception> decode) : IExceptionCodec
        where T : Exception
    {
        public string Kind => kind;
        public bool CanEncode(Exception e) => e is T;
        public JsonObject Encode(Exception e, WireSerializer serializer)
        {
            var data = encode((T)e);
            data["message"] = e.Message;
            return data;
        }
        public Exception Decode(JsonObject data, WireSerializer serializer) => decode((string?)data["message"] ?? "", data);
    }
}
