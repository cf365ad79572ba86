using System.Text.Json.Nodes;
using TrainedModelsOrleans.Grains.Inference.Nlp;
using TrainedModelsOrleans.Inference.OnnxRuntime;
using TrainedModelsOrleans.Inference.Serving;

namespace TrainedModelsOrleans.Grains.Serving;

/// <summary>
/// Runs a request's docs through a deployment served on this node; each doc is one queue entry, as ES sends them, and
/// the docs are queued together so that those of one shape go to the model as one batch.
/// </summary>
public static class ServedRequests
{
    public static Task<InferenceTensor[][]> InferTensorsAsync(ServedDeployment served, InferenceTensor[][] docs, TimeSpan timeout)
    {
        if (docs.Length != 1) return InferManyTensorsAsync(served, docs, timeout);
        // The common case has no continuation of its own: the executor answers in the contract's shape on
        // the thread that ran the model, and the calling grain resumes once, on its own scheduler.
        Tensor[] inputs;
        try
        {
            inputs = ToTensors(docs[0]);
        }
        catch (Exception e)
        {
            return Task.FromException<InferenceTensor[][]>(ServingErrors.Map(e, served.Route.DeploymentId));
        }
        return served.Executor.RunAsync(inputs, timeout, served.OneTensorDoc);
    }

    private static async Task<InferenceTensor[][]> InferManyTensorsAsync(ServedDeployment served, InferenceTensor[][] docs, TimeSpan timeout)
    {
        var deploymentId = served.Route.DeploymentId;
        Task<Tensor[]>[] runs;
        try
        {
            var requests = new Tensor[docs.Length][];
            for (var i = 0; i < docs.Length; i++) requests[i] = ToTensors(docs[i]);
            // Queued together: the docs of one request go to the model as one batch.
            runs = served.Executor.RunAllAsync(requests, timeout);
        }
        catch (Exception e)
        {
            throw ServingErrors.Map(e, deploymentId);
        }
        await WhenAllAsync(runs, deploymentId);
        var results = new InferenceTensor[docs.Length][];
        for (var i = 0; i < docs.Length; i++) results[i] = ToContract(runs[i].Result);
        return results;
    }

    /// <summary>The answer to a one-doc tensor request, and Elasticsearch's errors for the deployment.</summary>
    public static ResultShape<InferenceTensor[][]> OneTensorDocShape(string deploymentId) => new OneTensorDoc(deploymentId);

    private sealed class OneTensorDoc(string deploymentId) : ResultShape<InferenceTensor[][]>
    {
        public override InferenceTensor[][] Result(Tensor[] outputs) => [ToContract(outputs)];

        public override Exception Error(Exception error) => ServingErrors.Map(error, deploymentId);
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
        // Queued together: docs whose token tensors have one shape run as one batch.
        var runs = served.Executor.RunAllAsync(batches.Select(batch => batch.BuildTensors(nlp.Inputs)).ToArray(), timeout);
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
