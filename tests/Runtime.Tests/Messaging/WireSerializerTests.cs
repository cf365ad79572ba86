using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using TrainedModelsOrleans.Runtime.Serialization;
using Xunit;

namespace TrainedModelsOrleans.Runtime.Tests.Messaging;

public sealed class WireSerializerTests
{
    public enum Shade { Light, Dark }

    public sealed record Point(int X, int Y, string? Label, Shade Shade, TimeSpan? Age);

    public sealed class QuotaExceededException(string message, int limit) : Exception(message)
    {
        public int Limit { get; } = limit;
    }

    private sealed class QuotaCodec : IExceptionCodec
    {
        public string Kind => "tests.quota";
        public bool CanEncode(Exception e) => e is QuotaExceededException;
        public JsonObject Encode(Exception e, WireSerializer serializer) => new() { ["limit"] = ((QuotaExceededException)e).Limit };
        public Exception Decode(JsonObject data, WireSerializer serializer) => new QuotaExceededException("decoded", (int)data["limit"]!);
    }

    private sealed class CustomException(string message) : Exception(message);

    private readonly WireSerializer _wire = new(exceptionCodecs: [new QuotaCodec()]);

    [Fact]
    public void Arguments_of_many_shapes_round_trip()
    {
        Type[] types =
        [
            typeof(Point), typeof(byte[]), typeof(JsonObject), typeof(Dictionary<string, string?>), typeof(TimeSpan),
            typeof(string), typeof(int?), typeof(Point), typeof(JsonArray), typeof(Shade), typeof(long), typeof(byte[]), typeof(List<Point>),
        ];
        object?[] args =
        [
            new Point(1, -2, "ü", Shade.Dark, TimeSpan.FromMinutes(3)), new byte[] { 0, 255, 7 },
            new JsonObject { ["a"] = 1, ["b"] = new JsonArray("x", null), ["c"] = null },
            new Dictionary<string, string?> { ["k"] = "v", ["none"] = null }, TimeSpan.FromMilliseconds(1234.5),
            null, null, null, new JsonArray(1, "two"), Shade.Light, long.MaxValue, Array.Empty<byte>(), new List<Point> { new(0, 0, null, Shade.Light, null) },
        ];

        var decoded = _wire.DeserializeArguments(_wire.SerializeArguments(args, types), types);

        Assert.Equal(args[0], decoded[0]);
        Assert.Equal((byte[])args[1]!, (byte[])decoded[1]!);
        Assert.Equal(((JsonObject)args[2]!).ToJsonString(), ((JsonObject)decoded[2]!).ToJsonString());
        Assert.Equal((Dictionary<string, string?>)args[3]!, (Dictionary<string, string?>)decoded[3]!);
        Assert.Equal(args[4], decoded[4]);
        Assert.Null(decoded[5]);
        Assert.Null(decoded[6]);
        Assert.Null(decoded[7]);
        Assert.Equal(((JsonArray)args[8]!).ToJsonString(), ((JsonArray)decoded[8]!).ToJsonString());
        Assert.Equal(Shade.Light, decoded[9]);
        Assert.Equal(long.MaxValue, decoded[10]);
        Assert.Empty((byte[])decoded[11]!);
        Assert.Equal((List<Point>)args[12]!, (List<Point>)decoded[12]!);
    }

    [Fact]
    public void Byte_arrays_are_carried_raw()
    {
        var blob = new byte[100_000];
        new Random(1).NextBytes(blob);

        var payload = _wire.SerializeArguments([blob, null], [typeof(byte[]), typeof(byte[])]);

        Assert.Equal(4 + 4 + blob.Length + 4, payload.Length);
        Assert.Equal(blob.Length, BinaryPrimitives.ReadInt32LittleEndian(payload.AsSpan(4)));
        Assert.True(payload.AsSpan(8, blob.Length).SequenceEqual(blob));
        var decoded = _wire.DeserializeArguments(payload, [typeof(byte[]), typeof(byte[])]);
        Assert.Equal(blob, (byte[])decoded[0]!);
        Assert.Null(decoded[1]);
    }

    [Fact]
    public void No_arguments_is_four_bytes()
    {
        var payload = _wire.SerializeArguments([], []);
        Assert.Equal(4, payload.Length);
        Assert.Empty(_wire.DeserializeArguments(payload, []));
    }

    [Fact]
    public void Results_round_trip()
    {
        Assert.Empty(_wire.SerializeResult(null, typeof(NoResult)));
        Assert.Null(_wire.DeserializeResult([], typeof(NoResult)));
        Assert.Null(_wire.DeserializeResult([], typeof(void)));
        Assert.Null(_wire.DeserializeResult(_wire.SerializeResult(null, typeof(Point)), typeof(Point)));
        Assert.Null(_wire.DeserializeResult(_wire.SerializeResult(null, typeof(byte[])), typeof(byte[])));
        Assert.Equal(new byte[] { 3, 4 }, (byte[])_wire.DeserializeResult(_wire.SerializeResult(new byte[] { 3, 4 }, typeof(byte[])), typeof(byte[]))!);
        Assert.Equal(42, _wire.DeserializeResult(_wire.SerializeResult(42, typeof(int)), typeof(int)));
        var point = new Point(5, 6, null, Shade.Dark, null);
        Assert.Equal(point, _wire.DeserializeResult(_wire.SerializeResult(point, typeof(Point)), typeof(Point)));
        Assert.Equal("text", _wire.DeserializeResult(_wire.SerializeResult("text", typeof(string)), typeof(string)));
    }

    [Fact]
    public void Host_converters_in_the_options_are_used()
    {
        var wire = new WireSerializer();
        wire.JsonOptions.Converters.Add(new System.Text.Json.Serialization.JsonStringEnumConverter());

        var payload = wire.SerializeArguments([Shade.Dark], [typeof(Shade)]);

        Assert.Contains("\"Dark\"", Encoding.UTF8.GetString(payload));
        Assert.Equal(Shade.Dark, wire.DeserializeArguments(payload, [typeof(Shade)])[0]);
    }

    public static TheoryData<Exception> BuiltIns() =>
    [
        new InvalidOperationException("bad state", new FormatException("inner format")),
        new ArgumentException("bad arg", "name"),
        new ArgumentException("no param"),
        new ArgumentNullException("thing", "thing is required"),
        new ArgumentOutOfRangeException("count", 42, "count too big"),
        new ArgumentOutOfRangeException("count", "count too big"),
        new NotSupportedException("nope"),
        new NotImplementedException("later"),
        new TimeoutException("slow"),
        new KeyNotFoundException("missing"),
        new OperationCanceledException("stopped"),
        new TaskCanceledException("task stopped"),
        new FormatException("format"),
    ];

    [Theory]
    [MemberData(nameof(BuiltIns))]
    public void Built_in_exceptions_keep_type_message_and_inner(Exception original)
    {
        var decoded = _wire.DeserializeException(_wire.SerializeException(Thrown(original)));

        Assert.IsType(original.GetType(), decoded);
        Assert.Equal(original.Message, decoded.Message);
        Assert.Equal((original as ArgumentException)?.ParamName, (decoded as ArgumentException)?.ParamName);
        Assert.Equal(original.InnerException?.GetType(), decoded.InnerException?.GetType());
        Assert.Equal(original.InnerException?.Message, decoded.InnerException?.Message);
        Assert.Contains(nameof(Thrown), decoded.StackTrace);
    }

    [Fact]
    public void Registered_codec_recreates_its_exception()
    {
        var decoded = _wire.DeserializeException(_wire.SerializeException(new QuotaExceededException("over", 10)));

        var quota = Assert.IsType<QuotaExceededException>(decoded);
        Assert.Equal(10, quota.Limit);
    }

    [Fact]
    public void Unknown_exception_becomes_a_remote_exception()
    {
        var original = Thrown(new CustomException("custom failure"));

        var decoded = _wire.DeserializeException(_wire.SerializeException(original));

        var remote = Assert.IsType<RemoteException>(decoded);
        Assert.Equal(typeof(CustomException).FullName, remote.OriginalType);
        Assert.Equal("custom failure", remote.Message);
        Assert.Contains(nameof(Thrown), remote.RemoteStackTrace);
    }

    [Fact]
    public void Subclass_of_a_built_in_is_not_flattened_into_its_base()
    {
        var decoded = _wire.DeserializeException(_wire.SerializeException(new ObjectDisposedException("thing")));

        var remote = Assert.IsType<RemoteException>(decoded);
        Assert.Equal(typeof(ObjectDisposedException).FullName, remote.OriginalType);
    }

    [Fact]
    public void Exception_of_a_kind_this_side_lacks_becomes_a_remote_exception()
    {
        var payload = _wire.SerializeException(new QuotaExceededException("over", 10));

        var decoded = new WireSerializer().DeserializeException(payload);

        var remote = Assert.IsType<RemoteException>(decoded);
        Assert.Equal(typeof(QuotaExceededException).FullName, remote.OriginalType);
        Assert.Equal("over", remote.Message);
    }

    [Fact]
    public void Inner_exceptions_are_carried_to_a_bounded_depth()
    {
        Exception chain = new FormatException("bottom");
        for (var i = 0; i < 20; i++) chain = new InvalidOperationException($"level {i}", chain);

        var decoded = _wire.DeserializeException(_wire.SerializeException(chain));

        var depth = 0;
        for (var e = decoded.InnerException; e is not null; e = e.InnerException) depth++;
        Assert.Equal(WireSerializer.MaxExceptionDepth, depth);
    }

    [Fact]
    public void Codec_kinds_must_be_unique()
    {
        Assert.Throws<ArgumentException>(() => new WireSerializer(exceptionCodecs: [new QuotaCodec(), new QuotaCodec()]));
    }

    [Fact]
    public void Malformed_payloads_throw_a_wire_format_exception()
    {
        Type[] one = [typeof(Point)];
        var good = _wire.SerializeArguments([new Point(1, 2, "x", Shade.Light, null)], one);

        Assert.Throws<WireFormatException>(() => _wire.DeserializeArguments(good.AsSpan(0, 3), one));
        Assert.Throws<WireFormatException>(() => _wire.DeserializeArguments(good.AsSpan(0, good.Length - 1), one));
        Assert.Throws<WireFormatException>(() => _wire.DeserializeArguments([.. good, 0], one));
        Assert.Throws<WireFormatException>(() => _wire.DeserializeArguments(good, [typeof(Point), typeof(int)]));
        Assert.Throws<WireFormatException>(() => _wire.DeserializeArguments(good, [typeof(int)]));
        Assert.Throws<WireFormatException>(() => _wire.DeserializeArguments([1, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0x7F], one));
        Assert.Throws<WireFormatException>(() => _wire.DeserializeResult([], typeof(int)));
        Assert.Throws<WireFormatException>(() => _wire.DeserializeResult([9], typeof(int)));
        Assert.Throws<WireFormatException>(() => _wire.DeserializeResult([1, (byte)'{'], typeof(Point)));
        Assert.Throws<WireFormatException>(() => _wire.DeserializeException("not json"u8));
        Assert.Throws<WireFormatException>(() => _wire.DeserializeException("[1]"u8));
        Assert.Throws<WireFormatException>(() => _wire.DeserializeException("{\"message\":\"no kind\"}"u8));
        Assert.Throws<WireFormatException>(() => _wire.DeserializeException("{\"kind\":5}"u8));
    }

    [Fact]
    public void Random_bytes_never_escape_as_anything_but_a_wire_format_exception()
    {
        var random = new Random(7);
        Type[] types = [typeof(Point), typeof(byte[]), typeof(JsonObject)];
        for (var i = 0; i < 2000; i++)
        {
            var bytes = new byte[random.Next(0, 64)];
            random.NextBytes(bytes);
            if (bytes.Length >= 4) BinaryPrimitives.WriteInt32LittleEndian(bytes, random.Next(0, 4)); // plausible counts reach the arguments
            Expect(() => _wire.DeserializeArguments(bytes, types));
            Expect(() => _wire.DeserializeResult(bytes, typeof(Point)));
            Expect(() => _wire.DeserializeException(bytes));
        }

        static void Expect(Action decode)
        {
            try
            {
                decode();
            }
            catch (WireFormatException)
            {
            }
        }
    }

    private static Exception Thrown(Exception e)
    {
        try
        {
            throw e;
        }
        catch (Exception caught)
        {
            return caught;
        }
    }
}
