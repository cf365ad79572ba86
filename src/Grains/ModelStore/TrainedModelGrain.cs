using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Orleans;
using Orleans.Concurrency;
using Orleans.Transactions.Abstractions;
using TrainedModelsOrleans.Grains.Aliases;
using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Models;
using TrainedModelsOrleans.Grains.Pipelines;
using TrainedModelsOrleans.Grains.Transactions;

namespace TrainedModelsOrleans.Grains.ModelStore;

/// <summary>
/// One model's configuration and upload state. Rules live in Models/; this grain orders them and commits each change
/// as one transaction over its own state and the shared namespace. Definition parts and the vocabulary go to their
/// own tables before the state that lists them commits; the state is what counts. Only this grain writes its state,
/// so it keeps the committed record in memory for reads.
/// </summary>
[Reentrant]
public sealed class TrainedModelGrain(
    [TransactionalState("trained-model")] ITransactionalState<TrainedModelRecord> model,
    ControlPlaneTransactions transactions,
    ModelStoreTables tables,
    PipelineTables pipelines,
    OnnxModelInspector onnx,
    TimeProvider clock,
    Serving.LocalNode node,
    Limits.ServiceLimits limits,
    ILogger<TrainedModelGrain> logger) : Grain, ITrainedModelGrain, ILegacyModelImport, IKeyedByUserId
{
    private readonly SemaphoreSlim _turn = new(1, 1);
    private TrainedModelRecord? _committed;

    private string ModelId => this.GetPrimaryKeyString();

    /// <summary>This activation never committed, holds no model, and no change is in its turn.</summary>
    bool IKeyedByUserId.HoldsNothing(bool callFoundNothing) => !_committedHere && _turn.CurrentCount == 1 && _committed?.Config is null;

    private bool _committedHere;
    private IMlIdsGrain Ids => GrainFactory.GetGrain<IMlIdsGrain>(IMlIdsGrain.Key);

    public Task<PutTrainedModelResponse> Put(PutTrainedModelRequest given) => InTurnAsync(async current =>
    {
        // The config document is read with Elasticsearch's parser whether the HTTP layer or an SDK caller sent it.
        var request = PutTrainedModelSettings.Parse(ModelId, System.Text.Encoding.UTF8.GetBytes(given.Config.ToJsonString()),
            given.DeferDefinitionDecompression, given.WaitForCompletion);
        var created = TrainedModelCreation.Create(request, clock.GetUtcNow(), limits);
        var config = created.Config;
        if (current.Config is not null) throw TrainedModelCreation.AlreadyExists(ModelId);

        var record = new TrainedModelRecord { Config = config, InlineDefinition = request.DefinitionJson };
        // Payloads left by an earlier model of this id (or a change that did not commit) must not count for this one.
        await tables.DeletePayloadsAsync(ModelId, CancellationToken.None);
        if (request.CompressedDefinition is { } compressed)
        {
            // A compressed inline definition is stored as the model's single part.
            var part = new DefinitionPart { ModelId = ModelId, Part = 0, TotalParts = 1, TotalDefinitionLength = compressed.LongLength, Definition = compressed };
            await tables.WriteDefinitionPartAsync(ModelId, part, CancellationToken.None);
            record.Progress = DefinitionAssembly.Start(ModelId).Add(part).Progress;
        }
        await CommitAsync(record, async () =>
        {
            var ids = await Ids.GetAll();
            TrainedModelCreation.CheckIdentifiers(config, Existing(ids));
            await Ids.Claim(ModelId, MlIdEntry.ForModel(ModelId, config.Tags));
        });
        ControlPlaneLog.ModelPut(logger, ModelId, config.ModelType, node.Name, config.FullyDefined ? "created, fully defined" : "created, awaiting definition");
        return new PutTrainedModelResponse { Config = config, Warnings = request.Warnings };
    });

    public Task<bool> Import(TrainedModelRecord record) => InTurnAsync(async current =>
    {
        if (current.Config is not null) return false;
        await CommitAsync(record, () => Ids.Claim(ModelId, MlIdEntry.ForModel(ModelId, record.Config!.Tags)));
        return true;
    });

    public async Task<TrainedModelConfig?> GetConfig() => (await CommittedAsync()).Config;

    public async Task<DefinitionProgress?> GetDefinitionProgress() => await CommittedAsync() is { Config: not null } record ? record.Progress : null;

    public async Task<JsonObject?> GetInlineDefinition() => (await CommittedAsync()).InlineDefinition;

    public Task Delete(bool force) => InTurnAsync(async current =>
    {
        if (current.Config is null) throw TrainedModelCreation.NotFound(ModelId);
        var coordinator = GrainFactory.GetGrain<IAssignmentCoordinatorGrain>(AssignmentCoordinatorGrain.Key);
        var deployments = (await coordinator.GetAssignments()).Where(a => a.TaskParameters.ModelId == ModelId).ToArray();
        if (!force)
        {
            // ES's order (TransportDeleteTrainedModelAction): ingest references first, then deployments.
            var referenced = await pipelines.ReferencedIdsAsync(CancellationToken.None);
            var aliases = ModelAliasRules.AliasesOf(ModelId, Aliases(await Ids.GetCommitted()));
            if (referenced.Contains(ModelId) || aliases.Any(referenced.Contains))
                throw ElasticsearchException.Conflict($"Cannot delete model [{ModelId}] as it is still referenced by ingest processors; use force to delete the model");
            if (deployments.Length > 0)
                throw ElasticsearchException.Conflict($"Cannot delete model [{ModelId}] as it is currently deployed; use force to delete the model");
        }
        foreach (var deployment in deployments)
            await coordinator.RemoveAssignment(deployment.TaskParameters.DeploymentId, "model deleted");
        await CommitAsync(new TrainedModelRecord(), async () =>
        {
            var aliases = await Ids.ReleaseModel(ModelId);
            await Task.WhenAll(aliases.Select(a => GrainFactory.GetGrain<IModelAliasGrain>(a).Clear()));
        });
        await tables.DeletePayloadsAsync(ModelId, CancellationToken.None);
        ControlPlaneLog.ModelDeleted(logger, ModelId, node.Name, force, deployments.Length > 0 ? $"deleted with {deployments.Length} deployments stopped" : "deleted");
        return true;
    });

    public Task PutDefinitionPart(DefinitionPart part) => InTurnAsync(async current =>
    {
        var upload = DefinitionPartRequest.Validate(part with { ModelId = ModelId });
        limits.CheckTotalDefinitionLength(ModelId, upload.TotalDefinitionLength);
        var config = current.Config ?? throw TrainedModelCreation.NotFound(ModelId);
        DefinitionAssembly.CheckModelAcceptsParts(config);
        var assembly = DefinitionAssembly.From(ModelId, current.Progress).Add(upload);

        if (assembly.IsComplete)
        {
            // The whole definition must open before the last part is accepted: a model is usable or not stored as complete.
            var definition = Join(await ListedPartsAsync(current.Progress), upload);
            config = config.ModelType == TrainedModelType.Onnx
                ? onnx.Describe(config, definition)
                : CheckTreeDefinition(config, definition);
            config = config with
            {
                FullyDefined = true,
                ModelSizeBytes = config.ModelSizeBytes > 0 ? config.ModelSizeBytes : assembly.Progress.TotalDefinitionLength,
            };
        }

        await tables.WriteDefinitionPartAsync(ModelId, upload, CancellationToken.None);
        try
        {
            await CommitAsync(new TrainedModelRecord
            {
                Config = config,
                Progress = assembly.Progress,
                InlineDefinition = current.InlineDefinition,
                HasVocabulary = current.HasVocabulary,
            });
        }
        catch
        {
            // The state does not list the part: take the row back (a later upload of it would overwrite it anyway).
            await tables.DeleteDefinitionPartAsync(ModelId, upload.Part, CancellationToken.None);
            throw;
        }
        return true;
    });

    public Task PutVocabulary(VocabularyUpload vocabulary) => InTurnAsync(async current =>
    {
        var upload = VocabularyRules.Validate(vocabulary with { ModelId = ModelId });
        var config = current.Config ?? throw TrainedModelCreation.NotFound(ModelId);
        VocabularyRules.CheckModelAcceptsVocabulary(config, upload);
        if (current.HasVocabulary) throw VocabularyRules.AlreadyExists(ModelId);

        await tables.WriteVocabularyAsync(ModelId, JsonSerializer.Serialize(upload), CancellationToken.None);
        await CommitAsync(new TrainedModelRecord
        {
            Config = config,
            Progress = current.Progress,
            InlineDefinition = current.InlineDefinition,
            HasVocabulary = true,
        });
        return true;
    });

    /// <summary>One change of this model at a time (the grain is reentrant, as transactional state requires), on its committed record.</summary>
    private async Task<T> InTurnAsync<T>(Func<TrainedModelRecord, Task<T>> change)
    {
        await _turn.WaitAsync();
        try
        {
            return await change(await CommittedAsync());
        }
        finally
        {
            _turn.Release();
        }
    }

    /// <summary>
    /// The committed record, read once per activation (then kept: only this grain changes it). An id the namespace
    /// does not hold as a model has no record to read: looking up unknown ids (GET, _infer) must not create state rows,
    /// nor rewrite the namespace's (its committed copy answers). Only this grain claims or frees its id as a model,
    /// so the namespace and the record cannot move apart between the two reads.
    /// </summary>
    private async Task<TrainedModelRecord> CommittedAsync()
    {
        if (_committed is { } committed) return committed;
        var loaded = await Ids.FindCommitted(ModelId) is { Kind: MlIdEntry.Model }
            ? await transactions.ReadAsync(() => model.PerformRead(r => r.Copy()))
            : new TrainedModelRecord();
        // A change that committed here while this read ran is newer than what it read.
        return _committed ??= loaded;
    }

    /// <summary>Commits <paramref name="record"/> together with what <paramref name="alongside"/> does in the same transaction.</summary>
    private async Task CommitAsync(TrainedModelRecord record, Func<Task>? alongside = null)
    {
        _committedHere = true;
        await transactions.RunAsync(async () =>
        {
            if (alongside is not null) await alongside();
            await model.PerformUpdate(r => r.ReplaceWith(record));
        });
        _committed = record;
    }

    /// <summary>The stored parts this record lists (rows of changes that never committed are ignored).</summary>
    private async Task<SortedDictionary<int, byte[]>> ListedPartsAsync(DefinitionProgress? progress)
    {
        var stored = await tables.ReadPartsAsync(ModelId, CancellationToken.None);
        foreach (var part in stored.Keys.ToArray())
            if (progress is null || !progress.PartLengths.ContainsKey(part)) stored.Remove(part);
        return stored;
    }

    private static ExistingModels Existing(IReadOnlyDictionary<string, MlIdEntry> ids) => new()
    {
        ModelIds = ids.Where(k => k.Value.Kind == MlIdEntry.Model).Select(k => k.Key).ToHashSet(),
        ModelAliases = ids.Where(k => k.Value.Kind == MlIdEntry.Alias).Select(k => k.Key).ToHashSet(),
        DeploymentIds = ids.Where(k => k.Value.Kind == MlIdEntry.Deployment).Select(k => k.Key).ToHashSet(),
        Tags = ids.Values.Where(e => e.Kind == MlIdEntry.Model).SelectMany(e => e.Tags).ToHashSet(StringComparer.Ordinal),
    };

    private static Dictionary<string, string> Aliases(IReadOnlyDictionary<string, MlIdEntry> ids) =>
        ids.Where(i => i.Value.Kind == MlIdEntry.Alias).ToDictionary(i => i.Key, i => i.Value.ModelId, StringComparer.Ordinal);

    /// <summary>The whole definition: the stored parts and the new one, in part order (parts arrive in any order).</summary>
    private static byte[] Join(SortedDictionary<int, byte[]> stored, DefinitionPart upload)
    {
        stored[upload.Part] = upload.Definition;
        var joined = new byte[stored.Values.Sum(p => (long)p.Length)];
        var offset = 0;
        foreach (var bytes in stored.Values)
        {
            bytes.CopyTo(joined, offset);
            offset += bytes.Length;
        }
        return joined;
    }

    private TrainedModelConfig CheckTreeDefinition(TrainedModelConfig config, byte[] definition)
    {
        TreeEnsembleDefinition parsed;
        try
        {
            parsed = TreeEnsembleDefinition.ParseCompressed(definition, limits.Options.MaxInflatedDefinitionLength);
        }
        catch (ElasticsearchException e)
        {
            throw ValidationFailures(config, e);
        }
        // The size limits before validation: what they refuse is not walked again.
        limits.CheckTreeModel(config.ModelId, parsed.TrainedModel);
        try
        {
            parsed.Validate();
        }
        catch (ElasticsearchException e)
        {
            throw ValidationFailures(config, e);
        }
        return config;
    }

    private static ElasticsearchExceptionWithCause ValidationFailures(TrainedModelConfig config, ElasticsearchException cause) =>
        new(400, "status_exception", $"Definition for [{config.ModelId}] has validation failures.", cause);
}
