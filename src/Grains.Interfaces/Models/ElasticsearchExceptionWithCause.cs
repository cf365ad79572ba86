using Orleans;
using TrainedModelsOrleans.Grains.Errors;

namespace TrainedModelsOrleans.Grains.Models;

/// <summary>
/// An Elasticsearch error that wraps another, as ES does for parse failures
/// (<c>[trained_model_config] failed to parse field [inference_config]</c> caused by the real rule)
/// and for <c>Definition for [id] has validation failures.</c>. The HTTP layer should render
/// <see cref="CausedBy"/> as ES's nested <c>"caused_by":{"type","reason","caused_by"?}</c>;
/// <see cref="RootReason"/> is the innermost, most specific reason.
/// </summary>
[GenerateSerializer, Alias("tmo.ElasticsearchExceptionWithCause")]
public class ElasticsearchExceptionWithCause(int status, string type, string reason, ElasticsearchException causedBy)
    : ElasticsearchException(status, type, reason)
{
    [Id(0)] public ElasticsearchException CausedBy { get; private set; } = causedBy;

    /// <summary>The reason of the innermost cause.</summary>
    public string RootReason => CausedBy is ElasticsearchExceptionWithCause inner ? inner.RootReason : CausedBy.Reason;

    /// <summary>This error and its causes, outermost first.</summary>
    public IEnumerable<ElasticsearchException> Chain()
    {
        ElasticsearchException? e = this;
        while (e is not null)
        {
            yield return e;
            e = (e as ElasticsearchExceptionWithCause)?.CausedBy;
        }
    }
}
