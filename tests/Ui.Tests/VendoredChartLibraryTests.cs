using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Xunit;

namespace TrainedModelsOrleans.Ui.Tests;

/// <summary>The committed uPlot files are the ones the manifest pins (src/Api/Ui/vendor/uplot; fetch.sh re-fetches and checks them).</summary>
public sealed class VendoredChartLibraryTests
{
    private static readonly string Folder = Path.Combine(AppContext.BaseDirectory, "vendor", "uplot");

    [Fact]
    public void Committed_files_match_the_manifest_hashes()
    {
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(Folder, "manifest.json")))!.AsObject();
        Assert.Equal("uplot", (string?)manifest["package"]);
        Assert.Matches(@"^\d+\.\d+\.\d+$", (string?)manifest["version"]);
        Assert.StartsWith("sha512-", (string?)manifest["integrity"]);
        var files = manifest["files"]!.AsObject();
        Assert.Contains("uPlot.iife.min.js", files.Select(f => f.Key));
        Assert.Contains("LICENSE", files.Select(f => f.Key));
        foreach (var (name, file) in files)
        {
            var actual = Convert.ToHexStringLower(SHA512.HashData(File.ReadAllBytes(Path.Combine(Folder, name))));
            Assert.True((string?)file!["sha512"] == actual, $"{name}: sha512 {actual}, manifest says {file["sha512"]}");
        }
    }

    [Fact]
    public void The_page_serves_the_pinned_version()
    {
        var manifest = JsonNode.Parse(File.ReadAllText(Path.Combine(Folder, "manifest.json")))!;
        var served = Api.Ui.UiAssets.Find("uPlot.iife.min.js");
        Assert.NotNull(served);
        Assert.Equal(File.ReadAllBytes(Path.Combine(Folder, "uPlot.iife.min.js")), served.Content);
        // The page's footer credits the version it embeds.
        var index = System.Text.Encoding.UTF8.GetString(Api.Ui.UiAssets.Find("index.html")!.Content);
        Assert.Contains($"<span id=\"uplot-version\">{(string?)manifest["version"]}</span>", index);
    }
}
