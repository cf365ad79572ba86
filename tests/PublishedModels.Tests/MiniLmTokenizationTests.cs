using TrainedModelsOrleans.Inference.Text;

namespace TrainedModelsOrleans.PublishedModels.Tests;

/// <summary>Our WordPiece tokenizer on the published vocabulary against Hugging Face tokenizers' ids (reference/minilm.reference.json).</summary>
public sealed class MiniLmTokenizationTests
{
    private static readonly BertTokenizer Tokenizer = new(MiniLm.Vocabulary(), new BertTokenizerOptions { DoLowerCase = true });

    public static TheoryData<int> Sentences() => new(Enumerable.Range(0, MiniLm.Reference().Sentences.Count));

    [Theory]
    [MemberData(nameof(Sentences))]
    public void Token_ids_equal_hugging_face_tokenizers(int sentence)
    {
        MiniLmReferenceSentence expected = MiniLm.Reference().Sentences[sentence];
        TokenizedBatch batch = Tokenizer.Tokenize([expected.Text]);
        Assert.Equal(expected.TokenIds, batch.Sequences[0].TokenIds.ToArray());
    }
}
