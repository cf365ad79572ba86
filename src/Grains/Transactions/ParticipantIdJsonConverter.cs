using System.Text.Json;
using System.Text.Json.Serialization;
using Orleans.Runtime;
using Orleans.Transactions;

namespace TrainedModelsOrleans.Grains.Transactions;

/// <summary>
/// Reads and writes Orleans' <see cref="ParticipantId"/> in transactional state rows as
/// <c>{"Name": …, "Reference": …, "SupportedRoles": …}</c> (the shape System.Text.Json already wrote).
/// </summary>
/// <remarks>
/// ParticipantId is a readonly struct with get-only properties, so System.Text.Json writes it but reads it back through
/// the struct's implicit parameterless constructor: every field empty. A row then loses who manages its prepared
/// transaction (Orleans skips a pending state whose manager has no reference, so a committed change is silently not
/// applied there) and a manager's commit record loses its participants (confirmations throw, participants wait on the
/// lock forever). Both showed after kill -9 of a silo whose grain managed a transaction in flight.
/// </remarks>
public sealed class ParticipantIdJsonConverter : JsonConverter<ParticipantId>
{
    public override ParticipantId Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.StartObject) throw new JsonException($"a transaction participant is an object, not {reader.TokenType}");
        string? name = null;
        GrainReference? reference = null;
        var roles = default(ParticipantId.Role);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var property = reader.GetString();
            reader.Read();
            switch (property)
            {
                case nameof(ParticipantId.Name):
                    name = reader.GetString();
                    break;
                case nameof(ParticipantId.Reference):
                    reference = JsonSerializer.Deserialize<GrainReference>(ref reader, options);
                    break;
                case nameof(ParticipantId.SupportedRoles):
                    roles = JsonSerializer.Deserialize<ParticipantId.Role>(ref reader, options);
                    break;
                default:
                    reader.Skip();
                    break;
            }
        }
        return new ParticipantId(name!, reference!, roles);
    }

    public override void Write(Utf8JsonWriter writer, ParticipantId value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        writer.WriteString(nameof(ParticipantId.Name), value.Name);
        writer.WritePropertyName(nameof(ParticipantId.Reference));
        JsonSerializer.Serialize(writer, value.Reference, options);
        writer.WritePropertyName(nameof(ParticipantId.SupportedRoles));
        JsonSerializer.Serialize(writer, value.SupportedRoles, options);
        writer.WriteEndObject();
    }
}
