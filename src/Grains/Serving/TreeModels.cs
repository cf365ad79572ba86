using Orleans;
using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Inference.Trees;
using TrainedModelsOrleans.Grains.ModelStore;
using TrainedModelsOrleans.Grains.Models;

namespace TrainedModelsOrleans.Grains.Serving;

/// <summary>Tree-ensemble models compiled once per silo and evaluated in process (no deployment), as ES does.</summary>
public sealed class TreeModels(ModelStoreTables models, IGrainFactory grains, Limits.ServiceLimits limits)
{
    private readonly ConcurrentDictionary<(string ModelId, long CreateTime), Lazy<Task<Evaluator>>> _compiled = new();

    public Task<Evaluator> GetAsync(TrainedModelConfig config)
    {
        var entry = _compiled.GetOrAdd((config.ModelId, config.CreateTime), _ => new Lazy<Task<Evaluator>>(() => CompileAsync(config)));
        if (entry.Value.IsFaulted) _compiled.TryRemove(new((config.ModelId, config.CreateTime), entry));
        return entry.Value;
    }

    private async Task<Evaluator> CompileAsync(TrainedModelConfig config)
    {
        TreeEnsembleDefinition definition;
        if (await grains.GetGrain<ITrainedModelGrain>(config.ModelId).GetInlineDefinition() is { } inline)
        {
            definition = TreeEnsembleDefinition.Parse(inline.ToJsonString());
        }
        else
        {
            var parts = await models.ReadPartsAsync(config.ModelId, CancellationToken.None);
            if (parts.Count == 0) throw ElasticsearchException.NotFound($"Could not find trained model definition [{config.ModelId}]");
            definition = TreeEnsembleDefinition.ParseCompressed(parts.Values.SelectMany(p => p).ToArray(), limits.Options.MaxInflatedDefinitionLength);
        }
        // Models stored before a limit was lowered are refused here rather than compiled.
        limits.CheckTreeModel(config.ModelId, definition.TrainedModel);
        return new Evaluator(TreeModelEvaluator.Create(config, definition));
    }

    public sealed class Evaluator(TreeModelEvaluator evaluator)
    {
        public JsonObject Infer(JsonObject doc, JsonObject? inferenceConfigUpdate) => evaluator.Infer(doc, inferenceConfigUpdate);
    }
}
