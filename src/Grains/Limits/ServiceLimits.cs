using System.Globalization;
using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Models;
using TrainedModelsOrleans.Grains.Models.Parsing;

namespace TrainedModelsOrleans.Grains.Limits;

/// <summary>
/// The checks behind <see cref="ServiceLimitsOptions"/>: each refusal is an Elasticsearch error that names the limit
/// and the setting that raises it. Pure: no I/O, safe from any thread.
/// </summary>
public sealed class ServiceLimits(ServiceLimitsOptions options)
{
    public ServiceLimitsOptions Options { get; } = options;

    /// <summary>A body longer than <c>http.max_content_length</c>: 413, as ES answers it (ES's body is empty; ours says which limit).</summary>
    public ElasticsearchException ContentTooLong(long? length) => new(413, "content_too_long_exception",
        $"request body{(length is { } l ? $" of [{Number(l)}] bytes" : "")} is larger than [http.max_content_length] [{Bytes(Options.MaxContentLength)}] (setting Limits:MaxContentLength)");

    public void CheckInferDocs(int docs)
    {
        if (docs > Options.MaxInferDocs)
            throw EsErrors.IllegalArgument(
                $"[docs] holds [{Number(docs)}] documents, more than the limit of [{Number(Options.MaxInferDocs)}] per request (setting Limits:MaxInferDocs)");
    }

    /// <summary>Called with each tensor's declared shape before its data is read; <paramref name="elementsBefore"/> counts the request's earlier tensors.</summary>
    public long CheckTensorElements(string input, IReadOnlyList<long> shape, long elementsBefore)
    {
        var elements = 1L;
        foreach (var dimension in shape)
        {
            // A negative dimension is the shape check's error, not this one; a product that overflows is over any limit.
            if (dimension < 0) return elementsBefore;
            elements = dimension == 0 ? 0 : elements > long.MaxValue / dimension ? long.MaxValue : elements * dimension;
        }
        var total = elementsBefore > long.MaxValue - elements ? long.MaxValue : elementsBefore + elements;
        if (total > Options.MaxTensorElements)
            throw EsErrors.IllegalArgument(
                $"input [{input}] of shape {EsErrors.JavaList(shape)} brings the request to [{Number(total)}] tensor elements, more than the limit of [{Number(Options.MaxTensorElements)}] (setting Limits:MaxTensorElements)");
        return total;
    }

    public void CheckTotalDefinitionLength(string modelId, long totalDefinitionLength)
    {
        if (totalDefinitionLength > Options.MaxTotalDefinitionLength)
            throw EsErrors.BadRequest(
                $"[{modelId}] [total_definition_length] [{Number(totalDefinitionLength)}] is more than the limit of [{Number(Options.MaxTotalDefinitionLength)}] bytes (setting Limits:MaxTotalDefinitionLength)");
    }

    /// <summary>Trees, nodes per tree and nodes in all: counted on the parsed definition, before it is compiled.</summary>
    public void CheckTreeModel(string modelId, TrainedModelNode model)
    {
        var (trees, nodes) = (0L, 0L);
        var pending = new Stack<TrainedModelNode>();
        pending.Push(model);
        while (pending.Count > 0)
        {
            switch (pending.Pop())
            {
                case DecisionTree tree:
                    trees++;
                    nodes += tree.Nodes.Count;
                    if (tree.Nodes.Count > Options.MaxNodesPerTree)
                        throw TooLarge(modelId, $"a tree of [{Number(tree.Nodes.Count)}] nodes", $"[{Number(Options.MaxNodesPerTree)}] nodes per tree", "MaxNodesPerTree");
                    break;
                case EnsembleModel ensemble:
                    foreach (var member in ensemble.Models) pending.Push(member);
                    break;
            }
            if (trees > Options.MaxTrees)
                throw TooLarge(modelId, $"more than [{Number(Options.MaxTrees)}] trees", $"[{Number(Options.MaxTrees)}] trees", "MaxTrees");
            if (nodes > Options.MaxTotalTreeNodes)
                throw TooLarge(modelId, $"more than [{Number(Options.MaxTotalTreeNodes)}] nodes", $"[{Number(Options.MaxTotalTreeNodes)}] nodes in all", "MaxTotalTreeNodes");
        }
    }

    public ElasticsearchException UploadsBusy() => new(429, "es_rejected_execution_exception",
        $"[{Number(Options.MaxConcurrentDefinitionUploads)}] model definition parts are being decoded on this node, the limit (setting Limits:MaxConcurrentDefinitionUploads); retry later");

    private static ElasticsearchException TooLarge(string modelId, string found, string limit, string setting) =>
        EsErrors.BadRequest($"tree model [{modelId}] has {found}, more than the limit of {limit} (setting Limits:{setting})");

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>ES's ByteSizeValue text for whole units: 100mb, 1gb, 512kb, 10b.</summary>
    internal static string Bytes(long value) =>
        value % (1L << 30) == 0 ? $"{value >> 30}gb"
        : value % (1L << 20) == 0 ? $"{value >> 20}mb"
        : value % (1L << 10) == 0 ? $"{value >> 10}kb"
        : $"{value}b";
}
