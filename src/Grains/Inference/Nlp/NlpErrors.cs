using System.Text;
using TrainedModelsOrleans.Grains.Errors;
using TrainedModelsOrleans.Grains.Models.Parsing;
using TrainedModelsOrleans.Inference.Text;

namespace TrainedModelsOrleans.Grains.Inference.Nlp;

/// <summary>The Elasticsearch errors of NLP inference, and the tokenizer's failures in ES's terms.</summary>
internal static class NlpErrors
{
    /// <summary>ES's org.elasticsearch.common.ValidationException: 400 <c>validation_exception</c>, "Validation Failed: 1: a;2: b;".</summary>
    public static ElasticsearchException Validation(IEnumerable<string> errors)
    {
        var text = new StringBuilder("Validation Failed: ");
        var n = 0;
        foreach (var e in errors) text.Append(++n).Append(": ").Append(e).Append(';');
        return new ElasticsearchException(400, "validation_exception", text.ToString());
    }

    /// <summary>
    /// Runs tokenizer work, translating its failures: input that does not fit → 400 status_exception,
    /// bad settings → 400 illegal_argument_exception, a vocabulary without [UNK]/[PAD]/[CLS]/[SEP] → 409.
    /// </summary>
    public static T Translate<T>(Func<T> work)
    {
        try
        {
            return work();
        }
        catch (TokenizationException e)
        {
            throw EsErrors.Status(e.Status, e.Message);
        }
        catch (MissingSpecialTokenException e)
        {
            throw EsErrors.Status(409, e.Message);
        }
        catch (ArgumentException e)
        {
            throw EsErrors.IllegalArgument(e.Message);
        }
    }
}
