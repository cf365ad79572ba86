using TrainedModelsOrleans.Grains.Errors;

namespace TrainedModelsOrleans.Grains.Models.Parsing;

/// <summary>
/// ES's named objects: <c>{"&lt;name&gt;": {…}}</c> where the name picks the parser
/// (inference configs, tokenizations, trained models, aggregators, preprocessors).
/// </summary>
internal static class NamedObjects
{
    /// <summary>
    /// declareNamedObject: an object holding exactly one named object. An unknown name fails as
    /// ES does: <c>[field] failed to parse field [name]</c> caused by <c>unknown field [name]</c>.
    /// </summary>
    public static T ParseOne<T>(JsonBody body, JsonItem item, string field, IReadOnlyDictionary<string, Func<JsonItem, T>> parsers)
    {
        var members = item.Members!;
        if (members.Count != 1)
        {
            // ES leaves these cases to assertions or a 500; we answer 400 and say what is expected.
            var found = members.Count == 0 ? "none" : EsErrors.JavaList(members.Select(m => m.Name));
            throw ObjectParser.At(EsErrors.XContentParse(
                $"{body.Location(item.Start)} [{field}] must hold exactly one of {EsErrors.JavaList(parsers.Keys)}; found {found}"), item.End);
        }
        return ParseMember(body, members[0], field, parsers);
    }

    /// <summary>
    /// declareNamedObjects: either an object whose every field is a named object, or an array of
    /// single-field objects. <paramref name="ordered"/> tells which form was used.
    /// </summary>
    public static List<T> ParseMany<T>(JsonBody body, JsonItem item, string field, IReadOnlyDictionary<string, Func<JsonItem, T>> parsers, out bool ordered)
    {
        var result = new List<T>();
        if (item.Kind == JsonKind.Object)
        {
            ordered = false;
            foreach (var member in item.Members!) result.Add(ParseMember(body, member, field, parsers));
            return result;
        }

        ordered = true;
        foreach (var element in item.Items!)
        {
            if (element.Kind != JsonKind.Object || element.Members!.Count != 1)
                throw ObjectParser.At(EsErrors.XContentParse(
                    $"{body.Location(element.Start)} [{field}] can be a single object with any number of fields or an array where each entry is an object with a single field"),
                    element.Start);
            result.Add(ParseMember(body, element.Members[0], field, parsers));
        }
        return result;
    }

    private static T ParseMember<T>(JsonBody body, JsonMember member, string field, IReadOnlyDictionary<string, Func<JsonItem, T>> parsers)
    {
        if (!parsers.TryGetValue(member.Name, out var parse))
        {
            var notFound = ObjectParser.At(
                new ElasticsearchException(400, "named_object_not_found_exception", $"{body.Location(member.NameStart)} unknown field [{member.Name}]"),
                member.NameStart);
            throw ObjectParser.WrapField(body, field, member.Name, notFound, member.NameStart);
        }
        try
        {
            return parse(member.Value);
        }
        catch (ElasticsearchException e) when (!ObjectParser.IsNoWrap(e))
        {
            throw ObjectParser.WrapField(body, field, member.Name, e, member.Value.End);
        }
    }
}
