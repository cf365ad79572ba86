namespace TrainedModelsOrleans.Cli.Upload;

/// <summary>What an upload does, given what the service already holds of the model.</summary>
public abstract record ResumeDecision
{
    /// <summary>No such model: PUT the config, then every part.</summary>
    public sealed record UploadAll : ResumeDecision;

    /// <summary>--clear-previous: delete the stored model (stopping its deployments), then as <see cref="UploadAll"/>.</summary>
    public sealed record DeleteThenUploadAll : ResumeDecision;

    /// <summary>The config is stored but not every part: send the parts not in <see cref="Stored"/>.</summary>
    public sealed record Resume(IReadOnlySet<int> Stored) : ResumeDecision;

    /// <summary>The same definition is already complete: send no part (vocabulary and start still follow).</summary>
    public sealed record AlreadyComplete : ResumeDecision;

    /// <summary>The stored model cannot be continued with this file: stop and say why.</summary>
    public sealed record Conflict(string Reason) : ResumeDecision;

    /// <param name="stored">null when the model does not exist.</param>
    /// <param name="fileSha256">The file's sha256 (hex): a model the tool stored from another file is a conflict even when
    /// its length and parts match.</param>
    public static ResumeDecision For(string modelId, StoredModel? stored, PartPlan plan, bool clearPrevious, string? fileSha256 = null)
    {
        if (stored is null) return new UploadAll();
        if (clearPrevious) return new DeleteThenUploadAll();
        if (fileSha256 is not null && stored.DefinitionSha256 is { } storedSha256 && !string.Equals(storedSha256, fileSha256, StringComparison.OrdinalIgnoreCase))
        {
            return new Conflict(
                $"model [{modelId}] was uploaded from another file (sha256 {storedSha256}, this file's is {fileSha256}); use --clear-previous to replace it");
        }
        if (stored.FullyDefined)
        {
            return stored.ModelSizeBytes == plan.TotalDefinitionLength
                ? new AlreadyComplete()
                : new Conflict($"model [{modelId}] already exists with a definition of {stored.ModelSizeBytes:N0} bytes, not the file's {plan.TotalDefinitionLength:N0}; use --clear-previous to replace it");
        }
        // A service that does not list stored parts (Elasticsearch): send all; "already exists" answers count as stored.
        if (stored.StoredParts is not { } parts || parts.Parts.Count == 0) return new Resume(new HashSet<int>());
        if (parts.TotalDefinitionLength != plan.TotalDefinitionLength || parts.TotalParts != plan.TotalParts)
        {
            return new Conflict(
                $"model [{modelId}] has {parts.Parts.Count} of {parts.TotalParts} parts stored for a definition of {parts.TotalDefinitionLength:N0} bytes; " +
                $"this file makes {plan.TotalParts} parts of {plan.TotalDefinitionLength:N0} bytes. Resume with the same file and --part-size, or use --clear-previous");
        }
        return new Resume(parts.Parts);
    }
}
