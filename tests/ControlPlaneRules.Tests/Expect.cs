using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Models;
using Xunit;

namespace TrainedModelsOrleans.ControlPlaneRules.Tests;

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

    /// <summary>Asserts the innermost cause's type and reason.</summary>
    public static ElasticsearchException RootIs(this ElasticsearchException e, string type, string reason)
    {
        var root = e.Root();
        Assert.Equal(type, root.Type);
        Assert.Equal(reason, root.Reason);
        return root;
    }
}
