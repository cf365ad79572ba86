namespace TrainedModelsOrleans.Cli.Upload;

/// <summary>One part of the definition: which raw bytes of the file it carries.</summary>
public readonly record struct DefinitionSlice(int Part, long Offset, int Length);

/// <summary>
/// How a definition file is cut into parts, as Eland cuts it (<c>PyTorchModel.put_model</c>): consecutive slices of
/// <see cref="PartSize"/> raw bytes (the last one shorter), each sent base64-encoded with the file's length as
/// <c>total_definition_length</c> and the slice count as <c>total_parts</c>.
/// </summary>
public sealed class PartPlan
{
    /// <summary>Eland's DEFAULT_CHUNK_SIZE: 4 MiB of raw bytes before base64.</summary>
    public const int DefaultPartSize = 4 * 1024 * 1024;

    /// <summary>Elasticsearch's MAX_NUM_NATIVE_DEFINITION_PARTS: a model of more parts is refused.</summary>
    public const int MaxParts = 10_000;

    private PartPlan(long totalDefinitionLength, int partSize, int totalParts)
    {
        TotalDefinitionLength = totalDefinitionLength;
        PartSize = partSize;
        TotalParts = totalParts;
    }

    public long TotalDefinitionLength { get; }
    public int PartSize { get; }
    public int TotalParts { get; }

    /// <summary>The plan for a definition of <paramref name="totalDefinitionLength"/> bytes; says why when none can be made.</summary>
    public static PartPlan For(long totalDefinitionLength, int partSize = DefaultPartSize)
    {
        if (totalDefinitionLength <= 0) throw new ArgumentException("the model file is empty");
        if (partSize <= 0) throw new ArgumentException($"the part size must be positive, not {partSize}");
        var parts = (totalDefinitionLength + partSize - 1) / partSize;
        if (parts > MaxParts)
            throw new ArgumentException(
                $"{totalDefinitionLength:N0} bytes in parts of {partSize:N0} make {parts:N0} parts; Elasticsearch takes at most {MaxParts:N0}: use a larger --part-size");
        return new PartPlan(totalDefinitionLength, partSize, (int)parts);
    }

    public DefinitionSlice Slice(int part)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(part);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(part, TotalParts);
        var offset = (long)part * PartSize;
        return new DefinitionSlice(part, offset, (int)Math.Min(PartSize, TotalDefinitionLength - offset));
    }

    public IEnumerable<DefinitionSlice> Slices => Enumerable.Range(0, TotalParts).Select(Slice);
}
