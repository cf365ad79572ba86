using System.Globalization;
using System.Text.Json.Nodes;
using TrainedModelsOrleans.Cli.Service;

namespace TrainedModelsOrleans.Cli.Upload;

/// <summary>
/// Uploads a model as Eland's importer does — config, definition parts in order, vocabulary, then optionally a start —
/// and resumes one that was interrupted: the parts the service lists as stored are skipped, and a part it answers
/// "already exists" for (stored by a request whose answer was lost) counts as stored.
/// </summary>
public sealed class ModelUploader(ElasticsearchClient client, TransientRetry retry, IUploadProgress progress, TextWriter output)
{
    private const string AlreadyExists = "resource_already_exists_exception";

    public async Task UploadAsync(UploadRequest request, CancellationToken cancellationToken)
    {
        var id = request.ModelId;
        var plan = PartPlan.For(new FileInfo(request.ModelFile).Length, request.PartSize);
        var sha256 = await Sha256Async(request.ModelFile, cancellationToken);
        RecordSha256(request.Config, sha256);
        var stored = await ReadStoredAsync(id, cancellationToken);
        var decision = ResumeDecision.For(id, stored, plan, request.ClearPrevious, sha256);
        IReadOnlySet<int> skip = new HashSet<int>();
        switch (decision)
        {
            case ResumeDecision.Conflict conflict:
                throw new UploadConflictException(conflict.Reason);
            case ResumeDecision.DeleteThenUploadAll:
                output.WriteLine($"model [{id}] exists: deleting it and its deployments (--clear-previous)");
                await DeleteAsync(id, cancellationToken);
                await PutConfigAsync(request, cancellationToken);
                break;
            case ResumeDecision.UploadAll:
                await PutConfigAsync(request, cancellationToken);
                break;
            case ResumeDecision.Resume resume:
                skip = resume.Stored;
                output.WriteLine(Invariant($"model [{id}] exists with {skip.Count} of {plan.TotalParts} parts stored: resuming, sending the other {plan.TotalParts - skip.Count}"));
                break;
            case ResumeDecision.AlreadyComplete:
                output.WriteLine(Invariant($"model [{id}] already holds this definition ({plan.TotalDefinitionLength:N0} bytes): no part to send"));
                break;
        }

        if (decision is not ResumeDecision.AlreadyComplete)
            await PutPartsAsync(request, plan, skip, cancellationToken);
        if (request.Vocabulary is { } vocabulary)
            await PutVocabularyAsync(id, vocabulary, cancellationToken);
        if (request.Start is { } start)
            await StartAsync(id, start, cancellationToken);
    }

    private static async Task<string> Sha256Async(string path, CancellationToken cancellationToken)
    {
        await using var file = File.OpenRead(path);
        return Convert.ToHexStringLower(await System.Security.Cryptography.SHA256.HashDataAsync(file, cancellationToken));
    }

    /// <summary>
    /// The config carries the file's sha256 in its metadata, so a later run can tell the same file from another of the
    /// same length. A config whose metadata is not an object is left for the service to refuse.
    /// </summary>
    private static void RecordSha256(JsonObject config, string sha256)
    {
        if (config["metadata"] is null) config["metadata"] = new JsonObject();
        if (config["metadata"] is JsonObject metadata) metadata[StoredModel.Sha256MetadataKey] = sha256;
    }

    private async Task<StoredModel?> ReadStoredAsync(string id, CancellationToken cancellationToken)
    {
        var answer = await retry.SendAsync($"get model [{id}]", ct => client.GetModelAsync(id, ct), null, cancellationToken);
        if (answer.Status == 404) return null;
        if (!answer.IsSuccess || answer.Body is null) throw new ServiceRefusedException($"get model [{id}]", answer);
        return StoredModel.FromGetResponse(id, answer.Body);
    }

    private async Task PutConfigAsync(UploadRequest request, CancellationToken cancellationToken)
    {
        var retried = false;
        var answer = await retry.SendAsync($"put model [{request.ModelId}]", ct => client.PutModelAsync(request.ModelId, request.Config, ct),
            _ => retried = true, cancellationToken);
        // An attempt whose answer was lost may have stored the config: the retry then finds it there.
        if (answer.IsSuccess || (retried && answer.ErrorType == AlreadyExists))
        {
            output.WriteLine($"model [{request.ModelId}] config stored");
            return;
        }
        throw new ServiceRefusedException($"put model [{request.ModelId}]", answer);
    }

    private async Task PutPartsAsync(UploadRequest request, PartPlan plan, IReadOnlySet<int> skip, CancellationToken cancellationToken)
    {
        var id = request.ModelId;
        var storedBytes = plan.Slices.Where(s => skip.Contains(s.Part)).Sum(s => (long)s.Length);
        var totals = new UploadTotals(plan.TotalDefinitionLength, plan.TotalParts, storedBytes, skip.Count);
        output.WriteLine(Invariant($"model [{id}]: {plan.TotalDefinitionLength:N0} bytes in {plan.TotalParts} parts of up to {plan.PartSize:N0} bytes"));
        var sent = 0;
        var foundStored = 0;
        using var file = File.OpenHandle(request.ModelFile);
        var buffer = new byte[Math.Min(plan.PartSize, plan.TotalDefinitionLength)];
        await progress.RunAsync(totals, async tracker =>
        {
            foreach (var slice in plan.Slices)
            {
                if (skip.Contains(slice.Part)) continue;
                var bytes = buffer.AsMemory(0, slice.Length);
                await ReadExactlyAsync(file, bytes, slice.Offset, cancellationToken);
                var what = Invariant($"put definition part [{slice.Part}] of model [{id}]");
                var answer = await retry.SendAsync(what,
                    ct => client.PutDefinitionPartAsync(id, slice.Part, bytes, plan.TotalDefinitionLength, plan.TotalParts, ct),
                    notice => tracker.Retrying(slice.Part, notice), cancellationToken);
                if (answer.ErrorType == AlreadyExists) foundStored++;
                else if (!answer.IsSuccess) throw new ServiceRefusedException(what, answer);
                else sent++;
                tracker.PartStored(slice.Part, slice.Length);
            }
        });
        output.WriteLine(Invariant($"definition stored: {sent} parts sent, {skip.Count + foundStored} already stored"));
    }

    private async Task PutVocabularyAsync(string id, JsonObject vocabulary, CancellationToken cancellationToken)
    {
        var answer = await retry.SendAsync($"put vocabulary of model [{id}]", ct => client.PutVocabularyAsync(id, vocabulary, ct), null,
            cancellationToken);
        if (answer.ErrorType == AlreadyExists) output.WriteLine($"model [{id}] vocabulary already stored");
        else if (answer.IsSuccess) output.WriteLine($"model [{id}] vocabulary stored");
        else throw new ServiceRefusedException($"put vocabulary of model [{id}]", answer);
    }

    private async Task StartAsync(string id, DeploymentSettings start, CancellationToken cancellationToken)
    {
        var deploymentId = start.DeploymentId ?? id;
        output.WriteLine($"starting deployment [{deploymentId}] of model [{id}]");
        var retried = false;
        var answer = await retry.SendAsync($"start deployment [{deploymentId}]", ct => client.StartDeploymentAsync(id, start, ct),
            _ => retried = true, cancellationToken);
        // A retried start whose first answer was lost (a client timeout while it waited for allocations) finds its own
        // deployment: ES's 400 "an existing deployment with the same id [..] exist", or 409 while the first still starts.
        if (retried && (answer.Status == 409 || (answer.Status == 400 && answer.Reason.Contains("an existing deployment with the same id", StringComparison.Ordinal))))
        {
            output.WriteLine($"deployment [{deploymentId}] was started by an earlier attempt");
            return;
        }
        if (!answer.IsSuccess) throw new ServiceRefusedException($"start deployment [{deploymentId}]", answer);
        var assignment = answer.Body?["assignment"];
        var state = assignment?["assignment_state"]?.ToString() ?? "unknown";
        var allocations = assignment?["routing_table"] is JsonObject routes
            ? routes.Sum(r => r.Value?["current_allocations"]?.GetValue<int>() ?? 0)
            : 0;
        output.WriteLine($"deployment [{deploymentId}] {state}: {allocations} allocation(s)");
    }

    /// <summary>Deletes the model (force-stopping its deployments); a retried delete whose first answer was lost finds it gone.</summary>
    private async Task DeleteAsync(string id, CancellationToken cancellationToken)
    {
        var retried = false;
        var answer = await retry.SendAsync($"delete model [{id}]", ct => client.DeleteModelAsync(id, force: true, ct), _ => retried = true,
            cancellationToken);
        if (answer.IsSuccess || (retried && answer.Status == 404)) return;
        throw new ServiceRefusedException($"delete model [{id}]", answer);
    }

    private static async Task ReadExactlyAsync(Microsoft.Win32.SafeHandles.SafeFileHandle file, Memory<byte> into, long offset, CancellationToken cancellationToken)
    {
        var read = 0;
        while (read < into.Length)
        {
            var n = await RandomAccess.ReadAsync(file, into[read..], offset + read, cancellationToken);
            if (n == 0) throw new IOException("the model file got shorter while it was being uploaded");
            read += n;
        }
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}

/// <summary>The service holds a model this upload cannot continue (another definition, other part totals).</summary>
public sealed class UploadConflictException(string reason) : Exception(reason);
