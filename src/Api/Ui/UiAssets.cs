using System.Collections.Frozen;
using System.Reflection;
using System.Security.Cryptography;
using Microsoft.AspNetCore.StaticFiles;

namespace TrainedModelsOrleans.Api.Ui;

/// <summary>One file of the ML page: its bytes, media type and a strong ETag (a hash of the bytes).</summary>
public sealed record UiAsset(string Name, byte[] Content, string ContentType, string ETag);

/// <summary>
/// The ML page's static files, embedded in this assembly (Api.csproj: <c>Ui/assets/**</c> and the vendored chart library),
/// read once. Names are flat (<c>ml-page.js</c>, <c>uPlot.iife.min.js</c>): one path segment under <c>/_ml/ui/</c>.
/// </summary>
public static class UiAssets
{
    /// <summary>The logical-name prefix Api.csproj gives the embedded files.</summary>
    private const string ResourcePrefix = "ml-ui/";

    public const string IndexName = "index.html";

    private static readonly FrozenDictionary<string, UiAsset> All = Load();

    public static UiAsset? Find(string name) => All.GetValueOrDefault(name);

    private static FrozenDictionary<string, UiAsset> Load()
    {
        var assembly = typeof(UiAssets).Assembly;
        var types = new FileExtensionContentTypeProvider();
        var assets = new Dictionary<string, UiAsset>(StringComparer.Ordinal);
        foreach (var resource in assembly.GetManifestResourceNames().Where(r => r.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            var name = resource[ResourcePrefix.Length..];
            var content = Read(assembly, resource);
            var type = types.TryGetContentType(name, out var known) ? known : "application/octet-stream";
            // Text assets are UTF-8; saying so keeps a browser from guessing.
            if (type.StartsWith("text/", StringComparison.Ordinal) || type == "application/javascript" || type == "text/javascript")
                type += "; charset=utf-8";
            assets[name] = new UiAsset(name, content, type, $"\"{Convert.ToHexStringLower(SHA256.HashData(content))[..32]}\"");
        }
        return assets.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private static byte[] Read(Assembly assembly, string resource)
    {
        using var stream = assembly.GetManifestResourceStream(resource)!;
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
