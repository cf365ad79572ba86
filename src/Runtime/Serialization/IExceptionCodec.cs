using System.Text.Json.Nodes;

namespace TrainedModelsOrleans.Runtime.Serialization;

/// <summary>
/// Carries one family of exceptions across the wire as itself. Codecs are asked in registration order, so register the
/// most specific first. An encoded exception keeps its message and stack trace whatever the codec puts in the data;
/// a codec that wants the inner exception too can nest <see cref="WireSerializer.EncodeExceptionNode"/>.
/// </summary>
public interface IExceptionCodec
{
    /// <summary>A name unique among the registered codecs; both ends must register a codec with this kind.</summary>
    string Kind { get; }

    bool CanEncode(Exception e);

    JsonObject Encode(Exception e, WireSerializer serializer);

    Exception Decode(JsonObject data, WireSerializer serializer);
}
