using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Models;
using Xunit;

namespace TrainedModelsOrleans.Grains.Tests.Models;

/// <summary>Asserts an Elasticsearch error: its status, type, and the key part of its reason.</summary>
internal static class Expect
{
    public static ElasticsearchException Error(Action act, int status, string type, string reasonPart)
    {
        var e = Assert.ThrowsAny<ElasticsearchException>(act);
        Assert.Equal(status, e.Status);
        Assert.Equal(type, e.Type);
        Assert.True(e.Reason.Contains(reasonPart, StringComparison.Ordinal), $"Expected the reason to contain \"{reasonPart}\" but it was \"{e.Reason}\"");
        return e;
    }

    public static ElasticsearchException Error<T>(Func<T> act, int status, string type, string reasonPart) =>
        Error(() => { act(); }, status, type, reasonPart);

    /// <summary>The innermost cause of a wrapped error (the error itself when not wrapped).</summary>
    public static ElasticsearchException Root(this ElasticsearchException e) =>
        e is ElasticsearchExceptionWithCause wrapped ? wrapped.CausedBy.Root() : e;

    /// <summary>Asserts that some error in the cause chain has a reason containing <paramref name="reasonPart"/>.</summary>
    public static ElasticsearchException ChainHas(this ElasticsearchException e, string reasonPart)
    {
        var chain = e is ElasticsearchExceptionWithCause wrapped ? wrapped.Chain().ToList() : [e];
        Assert.True(chain.Any(x => x.Reason.Contains(reasonPart, StringComparison.Ordinal)),
            $"No error in the chain contains \"{reasonPart}\": {string.Join(" <- ", chain.Select(x => x.Reason))}");
        return e;
    }

    /// <summary>Asserts the innermost cause's type and reason.</summary>
    public static ElasticsearchException RootIs(this ElasticsearchException e, string type, string reasonPart)
    {
        var root = e.Root();
        Assert.Equal(type, root.Type);
        Assert.True(root.Reason.Contains(reasonPart, StringComparison.Ordinal), $"Expected the root reason to contain \"{reasonPart}\" but it was \"{root.Reason}\"");
        return root;
    }
}
