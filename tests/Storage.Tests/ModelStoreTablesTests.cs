using System.Runtime.CompilerServices;
using TrainedModelsOrleans.Grains.ModelStore;
using TrainedModelsOrleans.Grains.Models;
using TrainedModelsOrleans.TestSupport;
using Xunit;

namespace TrainedModelsOrleans.Storage.Tests;

/// <summary>Model payloads are garbage once written: nothing of Npgsql's keeps them (issue 14, memory stays bounded).</summary>
public sealed class ModelStoreTablesTests(PostgresDatabaseFixture db) : IClassFixture<PostgresDatabaseFixture>
{
    [Fact]
    public async Task Written_payloads_are_not_kept_by_the_idle_pooled_connection()
    {
        var tables = new ModelStoreTables(db.DataSource);

        var part = await WritePartAsync(tables, "kept-part");
        Assert.False(await IsAliveAfterCollectionAsync(part), "the definition part's bytes are still reachable after it was written");

        var vocabulary = await WriteVocabularyAsync(tables, "kept-vocabulary");
        Assert.False(await IsAliveAfterCollectionAsync(vocabulary), "the vocabulary's text is still reachable after it was written");

        Assert.Equal(1L, await db.ScalarAsync<long>("SELECT count(*) FROM model_definition_parts WHERE model_id = 'kept-part'"));
    }

    /// <summary>Collects in a new turn, so that the awaited tasks (and the locals they hoist in a Debug build) are off the stack.</summary>
    private static async Task<bool> IsAliveAfterCollectionAsync(WeakReference written)
    {
        await Task.Yield();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return written.IsAlive;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task<WeakReference> WritePartAsync(ModelStoreTables tables, string modelId)
    {
        var definition = new byte[1 << 20];
        Random.Shared.NextBytes(definition);
        await tables.WriteDefinitionPartAsync(modelId,
            new DefinitionPart { ModelId = modelId, Part = 0, TotalParts = 2, TotalDefinitionLength = 2L << 20, Definition = definition },
            CancellationToken.None);
        return new WeakReference(definition);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static async Task<WeakReference> WriteVocabularyAsync(ModelStoreTables tables, string modelId)
    {
        var json = $$"""{"vocabulary":[{{string.Join(',', Enumerable.Range(0, 50_000).Select(i => $"\"token{i}\""))}}]}""";
        await tables.WriteVocabularyAsync(modelId, json, CancellationToken.None);
        return new WeakReference(json);
    }
}
