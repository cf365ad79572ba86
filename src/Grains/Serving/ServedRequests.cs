using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Inference.Nlp;
using TrainedModelsOrleans.Inference.OnnxRuntime;
using TrainedModelsOrleans.Inference.Serving;

namespace TrainedModelsOrleans.Grains.Serving;

/// <summary>Runs a request's docs through a deployment served on this node; each doc is one queue entry, as ES sends them.</summary>
public static class ServedRequests
{
    public static async Task<InferenceTensor[][]> InferTensorsAsync(ServedDeployment served, InferenceTensor[][] docs, TimeSpan timeout)
    {
        var deploymentId = served.Route.DeploymentId;
        if (docs.Length == 1)
        {
            // The common case without Task.WhenAll's allocations.
            try
            {
                return [ToContract(await served.Executor.RunAsync(ToTensors(docs[0]), timeout))];
            }
            catch (Exception e)
            {
                throw ServingErrors.Map(e, deploymentId);
            }
        }
        var runs = new Task<Tensor[]>[docs.Length];
        for (var i = 0; i < docs.Length; i++) runs[i] = served.Executor.RunAsync(ToTensors(docs[i]), timeout);
        await WhenAllAsync(runs, deploymentId);
        var results = new InferenceTensor[docs.Length][];
        for (var i = 0; i < docs.Length; i++) results[i] = ToContract(runs[i].Result);
        return results;
    }

    public static async Task<JsonArray> InferDocumentsAsync(ServedDeployment served, JsonArray docs, JsonObject? configUpdate, TimeSpan timeout)
    {
        var deploymentId = served.Route.DeploymentId;
        NlpTaskOnNode nlp;
        try
        {
            nlp = await served.Nlp.Value;
        }
        catch (Exception e)
        {
            throw ServingErrors.Map(e, deploymentId);
        }
        var task = nlp.Task.WithUpdate(configUpdate);
        var batches = docs.Select(doc => task.Prepare([task.ReadInput((JsonObject)doc!)])).ToArray();
        var runs = batches.Select(batch => served.Executor.RunAsync(batch.BuildTensors(nlp.Inputs), timeout)).ToArray();
        await WhenAllAsync(runs, deploymentId);
        return new JsonArray(batches.Select((batch, i) => (JsonNode?)batch.ToResults(runs[i].Result)[0]).ToArray());
    }

    /// <summary>ES: if any doc errors, the whole request fails with the first doc's error.</summary>
    private static async Task WhenAllAsync(Task<Tensor[]>[] runs, string deploymentId)
    {
        try
        {
            await Task.WhenAll(runs);
        }
        catch
        {
            throw ServingErrors.Map(runs.First(r => r.IsFaulted || r.IsCanceled).Exception?.InnerException ?? new TaskCanceledException(), deploymentId);
        }
    }

    private static Tensor[] ToTensors(InferenceTensor[] doc)
    {
        var tensors = new Tensor[doc.Length];
        for (var i = 0; i < doc.Length; i++)
        {
            var t = doc[i];
            tensors[i] = new Tensor(t.Name, OnnxElementTypes.Parse(t.ElementType), t.Shape, t.Data);
        }
        return tensors;
    }

    private static InferenceTensor[] ToContract(Tensor[] outputs)
    {
        var result = new InferenceTensor[outputs.Length];
        for (var i = 0; i < outputs.Length; i++)
            result[i] = new InferenceTensor(outputs[i].Name, OnnxElementTypes.NameOf(outputs[i].ElementType), outputs[i].Shape, outputs[i].Data);
        return result;
    }
}
