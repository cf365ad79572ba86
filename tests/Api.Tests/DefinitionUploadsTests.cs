using System.Text;
using Microsoft.AspNetCore.Http;
using TrainedModelsOrleans.Api.Http;
using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Limits;
using TrainedModelsOrleans.Grains.Models;
using Xunit;

namespace TrainedModelsOrleans.Api.Tests;

public class DefinitionUploadsTests
{
    private static HttpRequest Part(string json)
    {
        var context = new DefaultHttpContext();
        var bytes = Encoding.UTF8.GetBytes(json);
        context.Request.Body = new MemoryStream(bytes);
        context.Request.ContentLength = bytes.Length;
        return context.Request;
    }

    private const string Body = """{"definition":"QUJD","total_definition_length":3,"total_parts":1}""";

    [Fact]
    public async Task A_part_beyond_the_concurrent_uploads_is_refused_with_429_and_the_slot_frees_after_the_store()
    {
        var uploads = new DefinitionUploads(new ServiceLimits(new ServiceLimitsOptions { MaxConcurrentDefinitionUploads = 1, DefinitionUploadWait = TimeSpan.Zero }));
        var storing = new TaskCompletionSource();
        var release = new TaskCompletionSource();
        DefinitionPart? stored = null;
        var first = uploads.StoreAsync("m", "0", Part(Body), async part =>
        {
            stored = part;
            storing.SetResult();
            await release.Task;
        });
        await storing.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal("ABC"u8.ToArray(), stored!.Definition);

        var refused = await Assert.ThrowsAsync<ElasticsearchException>(() => uploads.StoreAsync("m", "0", Part(Body), _ => Task.CompletedTask));
        Assert.Equal((429, "es_rejected_execution_exception"), (refused.Status, refused.Type));
        Assert.Contains("[1] model definition parts are being decoded on this node, the limit (setting Limits:MaxConcurrentDefinitionUploads)", refused.Reason);

        release.SetResult();
        await first.WaitAsync(TimeSpan.FromSeconds(30));
        var again = false;
        await uploads.StoreAsync("m", "0", Part(Body), _ => { again = true; return Task.CompletedTask; });
        Assert.True(again);
    }

    [Fact]
    public async Task A_part_declaring_more_than_the_maximum_definition_is_refused_before_it_is_stored()
    {
        var uploads = new DefinitionUploads(new ServiceLimits(new ServiceLimitsOptions { MaxTotalDefinitionLength = 2 }));
        var error = await Assert.ThrowsAsync<ElasticsearchException>(() => uploads.StoreAsync("m", "0", Part(Body), _ => throw new InvalidOperationException("stored")));
        Assert.Contains("[m] [total_definition_length] [3] is more than the limit of [2] bytes", error.Reason);
    }
}
