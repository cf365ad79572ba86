using System.Text.Json;
using Npgsql;
using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Models;
using Orleans;
using Orleans.Concurrency;
using TrainedModelsOrleans.Grains.Storage;

namespace TrainedModelsOrleans.Grains.ModelStore;

/// <summary>
/// One model's configuration and upload state. Rules live in Models/; this grain orders them,
/// commits each change (state + rows) in one transaction, and maps namespace collisions to ES errors.
/// </summary>
public sealed class TrainedModelGrain(
    GrainStateStore store,
    ModelStoreTables tables,
    DeploymentTables deploymentTables,
    OnnxModelInspector onnx,
    TimeProvider clock) : Grain, ITrainedModelGrain
{
    private IStoredState<TrainedModelRecord> model = null!;

    private string ModelId => this.GetPrimaryKeyString();

    public override async Task OnActivateAsync(CancellationToken cancellationToken) =>
        model = await store.ReadAsync<TrainedModelRecord>(new StateKey(ModelStoreTables.ModelGrainType, ModelId), ModelStoreTables.ConfigState, cancellationToken);

    public async Task<StoreResponse> Put(byte[] body, bool deferDefinitionDecompression, bool waitForCompletion)
    {
        var request = PutTrainedModelRequest.Parse(ModelId, body, deferDefinitionDecompression, waitForCompletion);
        var created = TrainedModelCreation.Create(request, clock.GetUtcNow());
        var config = created.Config;

        var kinds = await deploymentTables.IdsAsync([config.ModelId, .. config.Tags], CancellationToken.None);
        var tags = (await tables.ModelTagsAsync(CancellationToken.None)).Values.SelectMany(t => t).ToHashSet(StringComparer.Ordinal);
        TrainedModelCreation.CheckIdentifiers(config, ExistingFrom(kinds) with { Tags = tags });
        if (model.State.Config is not null) throw TrainedModelCreation.AlreadyExists(ModelId);

        var record = new TrainedModelRecord { Config = config, InlineDefinition = request.DefinitionJson };
        var transaction = store.BeginTransaction();
        ModelStoreTables.ClaimModelId(transaction, ModelId);
        if (request.CompressedDefinition is { } compressed)
        {
            // A compressed inline definition is stored as the model's single part.
            var part = new DefinitionPart { ModelId = ModelId, Part = 0, TotalParts = 1, TotalDefinitionLength = compressed.LongLength, Definition = compressed };
            ModelStoreTables.AddDefinitionPart(transaction, ModelId, part);
            record.Progress = DefinitionAssembly.Start(ModelId).Add(part).Progress;
        }
        await CommitAsync(transaction, record);
        return new StoreResponse(TrainedModelConfigJson.Render(config), request.Warnings);
    }

    public Task<TrainedModelConfig?> GetConfig() => Task.FromResult(model.State.Config);

    public Task<DefinitionProgress?> GetDefinitionProgress() => Task.FromResult(model.State.Config is null ? null : model.State.Progress);

    public async Task Delete(bool force)
    {
        if (model.State.Config is null) throw TrainedModelCreation.NotFound(ModelId);
        var coordinator = GrainFactory.GetGrain<IAssignmentCoordinatorGrain>(AssignmentCoordinatorGrain.Key);
        var deployments = (await coordinator.GetAssignments()).Where(a => a.TaskParameters.ModelId == ModelId).ToArray();
        if (!force)
        {
            // ES's order (TransportDeleteTrainedModelAction): ingest references first, then deployments.
            var referenced = (await deploymentTables.PipelineReferencesAsync(CancellationToken.None)).ToHashSet(StringComparer.Ordinal);
            var aliases = await deploymentTables.AliasesOfAsync(ModelId, CancellationToken.None);
            if (referenced.Contains(ModelId) || aliases.Any(referenced.Contains))
                throw ElasticsearchException.Conflict($"Cannot delete model [{ModelId}] as it is still referenced by ingest processors; use force to delete the model");
            if (deployments.Length > 0)
                throw ElasticsearchException.Conflict($"Cannot delete model [{ModelId}] as it is currently deployed; use force to delete the model");
        }
        foreach (var deployment in deployments)
            await coordinator.RemoveAssignment(deployment.TaskParameters.DeploymentId, "model deleted");
        var transaction = store.BeginTransaction();
        ModelStoreTables.ReleaseModel(transaction, ModelId);
        await CommitAsync(transaction, new TrainedModelRecord());
    }

    public async Task PutDefinitionPart(string part, byte[] body)
    {
        var upload = DefinitionPartRequest.Parse(ModelId, part, body);
        var config = model.State.Config ?? throw TrainedModelCreation.NotFound(ModelId);
        DefinitionAssembly.CheckModelAcceptsParts(config);
        var assembly = DefinitionAssembly.From(ModelId, model.State.Progress).Add(upload);

        if (assembly.IsComplete)
        {
            // The whole definition must open before the last part is accepted: a model is usable or not stored as complete.
            var definition = Join(await tables.ReadPartsAsync(ModelId, CancellationToken.None), upload);
            config = config.ModelType == TrainedModelType.Onnx
                ? onnx.Describe(config, definition)
                : CheckTreeDefinition(config, definition);
            config = config with
            {
                FullyDefined = true,
                ModelSizeBytes = config.ModelSizeBytes > 0 ? config.ModelSizeBytes : assembly.Progress.TotalDefinitionLength,
            };
        }

        var transaction = store.BeginTransaction();
        ModelStoreTables.AddDefinitionPart(transaction, ModelId, upload);
        await CommitAsync(transaction, new TrainedModelRecord
        {
            Config = config,
            Progress = assembly.Progress,
            InlineDefinition = model.State.InlineDefinition,
            HasVocabulary = model.State.HasVocabulary,
        });
    }

    public async Task PutVocabulary(byte[] body)
    {
        var upload = VocabularyRules.Parse(ModelId, body);
        var config = model.State.Config ?? throw TrainedModelCreation.NotFound(ModelId);
        VocabularyRules.CheckModelAcceptsVocabulary(config, upload);
        if (model.State.HasVocabulary) throw VocabularyRules.AlreadyExists(ModelId);

        var transaction = store.BeginTransaction();
        ModelStoreTables.AddVocabulary(transaction, ModelId, JsonSerializer.Serialize(upload));
        await CommitAsync(transaction, new TrainedModelRecord
        {
            Config = config,
            Progress = model.State.Progress,
            InlineDefinition = model.State.InlineDefinition,
            HasVocabulary = true,
        });
    }

    /// <summary>Commits the new record with the transaction; on any failure the grain keeps its old state.</summary>
    private async Task CommitAsync(StateTransaction transaction, TrainedModelRecord record)
    {
        var previous = model.State;
        model.State = record;
        try
        {
            await transaction.Write(model).CommitAsync();
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            model.State = previous;
            throw await NamespaceCollisionAsync(e);
        }
        catch
        {
            model.State = previous;
            throw;
        }
    }

    /// <summary>Someone took the id (or a part) between our checks and the commit: report it as ES does.</summary>
    private async Task<ElasticsearchException> NamespaceCollisionAsync(PostgresException error)
    {
        if (error.TableName == "model_definition_parts")
            return new ElasticsearchException(400, "resource_already_exists_exception", $"Trained machine learning model chunked doc [{ModelId}] already exists");
        if (error.TableName == "model_vocabulary") return VocabularyRules.AlreadyExists(ModelId);
        var kinds = await deploymentTables.IdsAsync([ModelId], CancellationToken.None);
        var config = model.State.Config ?? new TrainedModelConfig
        {
            ModelId = ModelId, ModelType = TrainedModelType.Onnx, Input = new TrainedModelInput { FieldNames = [] },
            InferenceConfig = new(), TaskType = InferenceTaskType.PassThrough,
        };
        try
        {
            TrainedModelCreation.CheckIdentifiers(config with { Tags = [] }, ExistingFrom(kinds));
        }
        catch (ElasticsearchException collision)
        {
            return collision;
        }
        return TrainedModelCreation.AlreadyExists(ModelId);
    }

    private static ExistingModels ExistingFrom(IReadOnlyDictionary<string, (string Kind, string ModelId)> ids) => new()
    {
        ModelIds = ids.Where(k => k.Value.Kind == "model").Select(k => k.Key).ToHashSet(),
        ModelAliases = ids.Where(k => k.Value.Kind == "alias").Select(k => k.Key).ToHashSet(),
        DeploymentIds = ids.Where(k => k.Value.Kind == "deployment").Select(k => k.Key).ToHashSet(),
    };

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

    private static TrainedModelConfig CheckTreeDefinition(TrainedModelConfig config, byte[] definition)
    {
        try
        {
            TreeEnsembleDefinition.ParseCompressed(definition).Validate();
        }
        catch (ElasticsearchException e)
        {
            throw new ElasticsearchExceptionWithCause(400, "status_exception", $"Definition for [{config.ModelId}] has validation failures.", e);
        }
        return config;
    }
}
