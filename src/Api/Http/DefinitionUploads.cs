using Microsoft.AspNetCore.Http;
using TrainedModelsOrleans.Grains.Limits;
using TrainedModelsOrleans.Grains.Models;

namespace TrainedModelsOrleans.Api.Http;

/// <summary>
/// Definition parts on this node, at most <see cref="ServiceLimitsOptions.MaxConcurrentDefinitionUploads"/> at once
/// from reading the body until the part is stored: each holds its body and then its decoded bytes, so the node's
/// memory for uploads is bounded by that many parts. Others wait up to <see cref="ServiceLimitsOptions.DefinitionUploadWait"/>
/// for a slot (clients such as Eland send parts one after another), then get 429.
/// </summary>
public sealed class DefinitionUploads(ServiceLimits limits)
{
    /// <summary>Parts from this size on end in the large object heap; see <see cref="GiveMemoryBack"/>.</summary>
    private const long LargeBody = 16L << 20;

    private readonly SemaphoreSlim _slots = new(limits.Options.MaxConcurrentDefinitionUploads, limits.Options.MaxConcurrentDefinitionUploads);
    private int _inFlight;

    public async Task StoreAsync(string modelId, string part, HttpRequest request, Func<DefinitionPart, Task> store)
    {
        if (!await _slots.WaitAsync(limits.Options.DefinitionUploadWait, request.HttpContext.RequestAborted))
            throw limits.UploadsBusy();
        Interlocked.Increment(ref _inFlight);
        // Content-Length when sent; a chunked or compressed body is judged by what was read once it has been.
        var large = request.ContentLength >= LargeBody;
        try
        {
            byte[]? body = await RequestBody.ReadBytesAsync(request, required: true, preallocateUpTo: limits.Options.MaxContentLength);
            large |= body.Length >= LargeBody;
            var upload = Decode(modelId, part, body);
            body = null; // garbage once the part is decoded, before the (long) store
            await store(upload);
        }
        finally
        {
            _slots.Release();
            var last = Interlocked.Decrement(ref _inFlight) == 0;
            if (large) _ = Task.Run(() => GiveMemoryBack(last));
        }
    }

    /// <summary>
    /// A large part's body and bytes are garbage in the large object heap once stored, and the GC collects that heap only
    /// in a gen2 collection, which an idle node may not run for a long time: measured, RSS stayed at 3.6× its start a
    /// minute after 8 uploads of 89 MB, and the peak held every upload's garbage. So after each large part a full
    /// collection frees them; after the last one in flight, an aggressive one also gives the memory back to the OS.
    /// Uploads are rare control-plane events; the cost is one gen2 collection of the node's heap per large part.
    /// </summary>
    private static void GiveMemoryBack(bool lastInFlight)
    {
        if (lastInFlight) GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        else GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true);
    }

    private DefinitionPart Decode(string modelId, string part, byte[] body)
    {
        var upload = DefinitionPartBody.Parse(modelId, part, body);
        limits.CheckTotalDefinitionLength(modelId, upload.TotalDefinitionLength);
        return upload;
    }
}
