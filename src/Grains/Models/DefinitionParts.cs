using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Text;
using System.Text.Json;
using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Models.Parsing;

namespace TrainedModelsOrleans.Grains.Models;

/// <summary>
/// <c>PUT _ml/trained_models/&lt;id&gt;/definition/&lt;part&gt;</c>: path and body read as
/// RestPutTrainedModelDefinitionPartAction and PutTrainedModelDefinitionPartAction.Request do.
/// </summary>
public static class DefinitionPartRequest
{
    public const string ParserName = "put_trained_model_part_action";

    /// <summary>PutTrainedModelDefinitionPartAction.MAX_NUM_NATIVE_DEFINITION_PARTS.</summary>
    public const int MaxParts = 10_000;

    public static DefinitionPart Parse(string modelId, string partFromPath, string body) =>
        Parse(modelId, partFromPath, Encoding.UTF8.GetBytes(body));

    /// <summary>
    /// Throws, in ES's order: a part that is not an integer → 400 <c>number_format_exception</c>;
    /// body errors → 400 <c>x_content_parse_exception</c> (bad base64 → "failed to parse field [definition]");
    /// no definition → 400 "[definition] must not be null."; then one 400 <c>action_request_validation_exception</c>
    /// listing every broken rule of Request.validate().
    /// </summary>
    public static DefinitionPart Parse(string modelId, string partFromPath, ReadOnlySpan<byte> body)
    {
        if (!int.TryParse(partFromPath, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var part))
            throw new ElasticsearchException(400, "number_format_exception", $"For input string: \"{partFromPath}\"");

        var json = JsonBody.Parse(body);
        byte[]? definition = null;
        long totalLength = 0;
        var totalParts = 0;
        new ObjectParser(ParserName)
            .Declare("definition", Accepts.String, v => definition = PutTrainedModelSettings.DecodeBase64(Values.String(v)))
            .Declare("total_definition_length", Accepts.Long, v => totalLength = Values.Long(v))
            .Declare("total_parts", Accepts.Int, v => totalParts = Values.Int(v))
            .Parse(json, json.Root);
        if (definition is null) throw EsErrors.IllegalArgument("[definition] must not be null.");
        return Validate(new DefinitionPart { ModelId = modelId, Part = part, TotalDefinitionLength = totalLength, TotalParts = totalParts, Definition = definition });
    }

    /// <summary>Request.validate(): every broken rule in one 400 <c>action_request_validation_exception</c>; the part as given otherwise.</summary>
    public static DefinitionPart Validate(DefinitionPart part)
    {
        if (part.Definition is null) throw EsErrors.IllegalArgument("[definition] must not be null.");
        var errors = new List<string>();
        if (part.Part < 0) errors.Add("[part] must be greater or equal to 0");
        if (part.TotalParts <= 0) errors.Add("[total_parts] must be greater than 0");
        if (part.TotalParts > MaxParts) errors.Add($"[total_parts] must be less than or equal to {MaxParts}");
        if (part.TotalDefinitionLength <= 0) errors.Add("[total_definition_length] must be greater than 0");
        if (part.Part >= part.TotalParts) errors.Add("[part] must be less than total_parts");
        if (errors.Count > 0) throw EsErrors.Validation([.. errors]);
        return part;
    }
}

/// <summary>
/// The rules for assembling a model definition from its parts, over the state the grain keeps
/// (<see cref="DefinitionProgress"/>). Immutable: <see cref="Add"/> returns the next state or throws
/// without changing anything.
/// <para>ES stores each part as it comes and checks the whole only when a deployment starts
/// (TransportStartTrainedModelDeploymentAction). Here a part that can never make a valid definition
/// is refused at upload — different totals than the parts before it, more bytes than
/// total_definition_length, or a last missing part that leaves the total short — using ES's
/// start-time texts; <see cref="EnsureComplete"/> repeats ES's start-time check.</para>
/// </summary>
public sealed class DefinitionAssembly
{
    private DefinitionAssembly(string modelId, DefinitionProgress progress)
    {
        ModelId = modelId;
        Progress = progress;
    }

    public string ModelId { get; }
    public DefinitionProgress Progress { get; }

    public static DefinitionAssembly Start(string modelId) => new(modelId, new DefinitionProgress());

    public static DefinitionAssembly From(string modelId, DefinitionProgress? progress) => new(modelId, progress ?? new DefinitionProgress());

    public int ReceivedParts => Progress.PartLengths.Count;
    public long ReceivedLength => Progress.PartLengths.Values.Sum();

    /// <summary>Every part is in and their lengths add up to total_definition_length.</summary>
    public bool IsComplete => ReceivedParts > 0 && ReceivedParts == Progress.TotalParts && ReceivedLength == Progress.TotalDefinitionLength;

    public IReadOnlyList<int> MissingParts =>
        ReceivedParts == 0 ? [] : Enumerable.Range(0, Progress.TotalParts).Where(p => !Progress.PartLengths.ContainsKey(p)).ToList();

    /// <summary>
    /// ES refuses parts for a model without a location — one whose definition was given inline
    /// (TransportPutTrainedModelDefinitionPartAction): 400 "cannot put definition for model [id] as location is null".
    /// </summary>
    public static void CheckModelAcceptsParts(TrainedModelConfig config)
    {
        if (config.Location is null)
            throw EsErrors.BadRequest($"cannot put definition for model [{config.ModelId}] as location is null");
    }

    /// <summary>
    /// Adds a part, in any order. Refuses: a part already stored (ES: 400 resource_already_exists_exception,
    /// the doc exists); totals that differ from the parts already stored; bytes beyond total_definition_length;
    /// a final part that leaves the definition short (ES's "Model definition truncated").
    /// </summary>
    public DefinitionAssembly Add(DefinitionPart part)
    {
        var lengths = Progress.PartLengths;
        if (lengths.ContainsKey(part.Part))
            throw EsErrors.AlreadyExists(
                $"Trained machine learning model chunked doc [{ModelId}][{EsErrors.MessageFormatNumber(part.Part)}] already exists");

        if (lengths.Count > 0)
        {
            var first = lengths.Keys.Min();
            if (part.TotalDefinitionLength != Progress.TotalDefinitionLength)
                throw Inconsistent("total_definition_length", part.TotalDefinitionLength, part.Part, Progress.TotalDefinitionLength, first);
            if (part.TotalParts != Progress.TotalParts)
                throw Inconsistent("total_parts", part.TotalParts, part.Part, Progress.TotalParts, first);
        }

        var received = ReceivedLength + part.Definition.LongLength;
        if (received > part.TotalDefinitionLength)
            throw EsErrors.BadRequest(
                $"[{ModelId}] model definition parts add up to [{received}] bytes, more than [total_definition_length] [{part.TotalDefinitionLength}]");
        if (lengths.Count + 1 == part.TotalParts && received != part.TotalDefinitionLength)
            throw Truncated(ModelId);

        var next = new Dictionary<int, long>(lengths) { [part.Part] = part.Definition.LongLength };
        return new DefinitionAssembly(ModelId, new DefinitionProgress
        {
            TotalParts = part.TotalParts,
            TotalDefinitionLength = part.TotalDefinitionLength,
            PartLengths = next,
        });
    }

    /// <summary>
    /// ES's start-time check: no parts → 404 "Could not find trained model definition [id]";
    /// missing parts or a length that does not add up → 400 "Model definition truncated. …".
    /// </summary>
    public void EnsureComplete()
    {
        if (ReceivedParts == 0) throw EsErrors.NotFound($"Could not find trained model definition [{ModelId}]");
        if (!IsComplete) throw Truncated(ModelId);
    }

    private ElasticsearchException Inconsistent(string field, long value, int part, long firstValue, int firstPart) =>
        EsErrors.BadRequest(
            $"[{ModelId}] [{field}] must be the same in all model definition parts. The value [{value}] in model definition part [{part}] does not match the value [{firstValue}] in part [{firstPart}].");

    /// <summary>Messages.MODEL_DEFINITION_TRUNCATED.</summary>
    private static ElasticsearchException Truncated(string modelId) =>
        EsErrors.BadRequest($"Model definition truncated. Unable to deserialize trained model definition [{modelId}]");
}

/// <summary>
/// Reads a definition part's body once: the <c>definition</c> value is base64-decoded straight from the body's UTF-8
/// bytes into one array of its decoded size (no string, no copies of the body), so a part costs its body and its
/// bytes. The rest of the body (on an error, with the definition's value blanked in the caller's array) goes through <see cref="DefinitionPartRequest.Parse(string, string, ReadOnlySpan{byte})"/>
/// (ES's parser and texts). A body this cannot read that way (an escaped or invalid definition, broken JSON) is parsed
/// whole by that parser, which answers its error.
/// </summary>
public static class DefinitionPartBody
{
    public static DefinitionPart Parse(string modelId, string partFromPath, byte[] body)
    {
        if (!int.TryParse(partFromPath, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out _)
            || FindDefinition(body) is not var (start, length)
            || DecodeBase64(body.AsSpan(start, length)) is not { } definition)
            return DefinitionPartRequest.Parse(modelId, partFromPath, body);
        DefinitionPart parsed;
        try
        {
            // The rest of the body, without the definition's characters, through ES's parser: a few bytes to copy.
            var rest = new byte[body.Length - length];
            body.AsSpan(0, start).CopyTo(rest);
            body.AsSpan(start + length).CopyTo(rest.AsSpan(start));
            parsed = DefinitionPartRequest.Parse(modelId, partFromPath, rest);
        }
        catch (ElasticsearchException)
        {
            // Its error must carry the location the client wrote: parse again with the definition blanked in place
            // ("" and then spaces, the body's length unchanged).
            body[start] = (byte)'"';
            body.AsSpan(start + 1, length).Fill((byte)' ');
            parsed = DefinitionPartRequest.Parse(modelId, partFromPath, body);
        }
        return DefinitionPartRequest.Validate(parsed with { Definition = definition });
    }

    /// <summary>Where the top-level <c>definition</c> string's characters are, when it is a plain (unescaped) string.</summary>
    internal static (int Start, int Length)? FindDefinition(byte[] body)
    {
        try
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip, MaxDepth = 512 });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject) return null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isDefinition = reader.ValueTextEquals("definition"u8);
                if (!reader.Read()) return null;
                if (isDefinition)
                    return reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped
                        ? ((int)reader.TokenStartIndex + 1, reader.ValueSpan.Length)
                        : null;
                reader.Skip();
            }
            return null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// <see cref="PutTrainedModelSettings.DecodeBase64"/>'s rules (trailing '=' optional, only the base64 alphabet)
    /// over UTF-8; null for anything it would refuse, so that its error text answers.
    /// </summary>
    internal static byte[]? DecodeBase64(ReadOnlySpan<byte> text)
    {
        while (text.Length > 0 && text[^1] == (byte)'=') text = text[..^1];
        if (text.Length % 4 == 1) return null;
        var whole = text.Length / 4 * 4;
        var tail = text[whole..];
        foreach (var c in tail)
            if (!IsBase64Letter(c)) return null;
        var decoded = GC.AllocateUninitializedArray<byte>(whole / 4 * 3 + (tail.Length == 0 ? 0 : tail.Length - 1));
        // Base64 skips whitespace that ES refuses: a count that falls short shows it.
        if (Base64.DecodeFromUtf8(text[..whole], decoded, out var consumed, out var written) != OperationStatus.Done
            || consumed != whole || written != whole / 4 * 3)
            return null;
        if (tail.Length > 0)
        {
            Span<byte> block = stackalloc byte[4];
            block.Fill((byte)'=');
            tail.CopyTo(block);
            Span<byte> last = stackalloc byte[3];
            if (Base64.DecodeFromUtf8(block, last, out _, out var lastWritten) != OperationStatus.Done || lastWritten != tail.Length - 1) return null;
            last[..lastWritten].CopyTo(decoded.AsSpan(written));
        }
        return decoded;
    }

    private static bool IsBase64Letter(byte c) => c is >= (byte)'A' and <= (byte)'Z' or >= (byte)'a' and <= (byte)'z' or >= (byte)'0' and <= (byte)'9' or (byte)'+' or (byte)'/';
}
