using TrainedModelsOrleans.Grains.Models.Parsing;
using TrainedModelsOrleans.Inference.OnnxRuntime;
using TrainedModelsOrleans.Inference.Serving;

namespace TrainedModelsOrleans.Grains.Inference.Nlp;

/// <summary>
/// One document's share of a model output, seen as ES's processors see the result of a request
/// (ES runs one document per request, its windows being the batch): a list of windows, each a
/// list of rows of values. As ES's pytorch_inference writes tensors: [rows, classes] is one window
/// holding the document's rows; [rows, sequence, hidden] is one window per row holding the
/// sequence's vectors (trimmed to the document's own length when the sequence dimension is the
/// batch padding); [rows] is one window with one row of the document's values.
/// </summary>
internal sealed class DocumentInference
{
    private readonly Tensor output;
    private readonly int[] rows;
    private readonly int sequence;

    private DocumentInference(Tensor output, int[] rows, int windows, int rowsPerWindow, int width, int sequence)
    {
        this.output = output;
        this.rows = rows;
        Windows = windows;
        RowsPerWindow = rowsPerWindow;
        Width = width;
        this.sequence = sequence;
    }

    public int Windows { get; }

    public int RowsPerWindow { get; }

    /// <summary>Values per row.</summary>
    public int Width { get; }

    /// <param name="output">The model's first output, over the whole batch.</param>
    /// <param name="rows">The batch rows of this document, in order.</param>
    /// <param name="documentLength">The document's longest row, in tokens.</param>
    /// <param name="paddedLength">The sequence length the batch was run with.</param>
    public static DocumentInference Of(Tensor output, int[] rows, int documentLength, int paddedLength)
    {
        CheckElementType(output);
        var shape = output.Shape;
        switch (shape.Length)
        {
            case 1:
                return new DocumentInference(output, rows, 1, 1, rows.Length, 0);
            case 2:
                return new DocumentInference(output, rows, 1, rows.Length, (int)shape[1], 0);
            case 3:
                var sequence = (int)shape[1];
                var kept = sequence == paddedLength ? Math.Min(documentLength, sequence) : sequence;
                return new DocumentInference(output, rows, rows.Length, kept, (int)shape[2], sequence);
            default:
                // pytorch_inference's text for tensors it cannot send back.
                throw EsErrors.Status(500, $"Cannot convert results tensor of size [{EsErrors.JavaList(shape)}]");
        }
    }

    /// <summary>The values of one row as doubles (ES parses the process's output as doubles).</summary>
    public double[] Row(int window, int row)
    {
        var values = new double[Width];
        switch (output.Shape.Length)
        {
            case 1:
                for (var i = 0; i < Width; i++) values[i] = Value(rows[i]);
                break;
            case 2:
                Copy(rows[row] * Width, values);
                break;
            default:
                Copy(((rows[window] * sequence) + row) * Width, values);
                break;
        }
        return values;
    }

    private void Copy(int offset, double[] values)
    {
        for (var i = 0; i < values.Length; i++) values[i] = Value(offset + i);
    }

    private double Value(int index) => output.Data switch
    {
        float[] f => f[index],
        double[] d => d[index],
        Half[] h => (double)h[index],
        ushort[] bf16 => BitConverter.Int32BitsToSingle(bf16[index] << 16),
        _ => throw new InvalidOperationException(),
    };

    private static void CheckElementType(Tensor output)
    {
        if (output.ElementType is not (OnnxElementType.Float or OnnxElementType.Double or OnnxElementType.Float16 or OnnxElementType.BFloat16))
            throw EsErrors.Status(500, $"Cannot process result tensor of type [{OnnxElementTypes.NameOf(output.ElementType)}]");
    }
}
