using System.Text.Json.Nodes;

namespace TrainedModelsOrleans.Runtime.Serialization;

/// <summary>
/// Common BCL exceptions recreated as their own type on the receiving side. Matched by exact type, so a subclass
/// (ObjectDisposedException is an InvalidOperationException) is not flattened into its base but travels as a
/// <see cref="RemoteException"/>.
/// </summary>
internal static class BuiltInExceptions
{
    internal sealed record Entry(
        Type Type,
        Func<Exception, JsonObject?> Encode,
        Func<string, JsonObject?, Exception?, Exception> Create);

    public static readonly IReadOnlyDictionary<Type, Entry> ByType;
    public static readonly IReadOnlyDictionary<string, Entry> ByKind;

    static BuiltInExceptions()
    {
        Entry[] entries =
        [
            Plain(typeof(InvalidOperationException), (m, i) => new InvalidOperationException(m, i)),
            Plain(typeof(NotSupportedException), (m, i) => new NotSupportedException(m, i)),
            Plain(typeof(NotImplementedException), (m, i) => new NotImplementedException(m, i)),
            Plain(typeof(TimeoutException), (m, i) => new TimeoutException(m, i)),
            Plain(typeof(KeyNotFoundException), (m, i) => new KeyNotFoundException(m, i)),
            Plain(typeof(FormatException), (m, i) => new FormatException(m, i)),
            Plain(typeof(OperationCanceledException), (m, i) => new OperationCanceledException(m, i)),
            Plain(typeof(TaskCanceledException), (m, i) => new TaskCanceledException(m, i)),
            new(typeof(ArgumentException),
                e => Param((ArgumentException)e),
                (m, d, i) => new ArgumentException(m, ParamName(d), i)),
            new(typeof(ArgumentNullException),
                e => Param((ArgumentException)e),
                (m, d, i) => ParamName(d) is { } p || i is null ? new ArgumentNullException(ParamName(d), m) : new ArgumentNullException(m, i)),
            new(typeof(ArgumentOutOfRangeException),
                e => OutOfRange((ArgumentOutOfRangeException)e),
                (m, d, i) => ParamName(d) is { } p || i is null
                    ? new ArgumentOutOfRangeException(ParamName(d), d?["actualValue"]?.GetValue<string>(), m)
                    : new ArgumentOutOfRangeException(m, i)),
        ];
        ByType = entries.ToDictionary(e => e.Type);
        ByKind = entries.ToDictionary(e => e.Type.Name);
    }

    /// <summary>The message an exception was constructed with: Argument* exceptions append the parameter (and value) to it.</summary>
    public static string RawMessage(Exception e)
    {
        var suffix = e switch
        {
            ArgumentOutOfRangeException o => new ArgumentOutOfRangeException(o.ParamName, o.ActualValue, "").Message,
            ArgumentException a when !string.IsNullOrEmpty(a.ParamName) => new ArgumentException("", a.ParamName).Message,
            _ => "",
        };
        return suffix.Length > 0 && e.Message.EndsWith(suffix, StringComparison.Ordinal) ? e.Message[..^suffix.Length] : e.Message;
    }

    private static Entry Plain(Type type, Func<string, Exception?, Exception> create) =>
        new(type, _ => null, (m, _, i) => create(m, i));

    private static JsonObject? Param(ArgumentException e) =>
        e.ParamName is null ? null : new JsonObject { ["paramName"] = e.ParamName };

    private static JsonObject? OutOfRange(ArgumentOutOfRangeException e)
    {
        var data = Param(e) ?? [];
        if (e.ActualValue is not null) data["actualValue"] = e.ActualValue.ToString();
        return data;
    }

    private static string? ParamName(JsonObject? data) => data?["paramName"]?.GetValue<string>();
}
