using System.Globalization;
using System.Net.Http.Headers;
using System.Text;

namespace TrainedModelsOrleans.Bench;

/// <summary>
/// Issue 14's memory attack: 4 sequential then 4 concurrent ~89 MB definition-part uploads (base64 JSON, as Eland sends
/// them) against the silo in its own process, one service process per GC mode. Prints RSS at start, the peak (VmHWM),
/// RSS 60 s after the load, the bytes in flight, and the ratios against the goals (peak under 2× the bytes in flight
/// plus the start; RSS back within 1.5× of the start), and the anonymous part of RSS at start and after (managed heap
/// and native allocations; the rest is mapped files: the runtime, assemblies, ONNX Runtime), to show where growth is.
/// </summary>
public static class UploadsBenchmark
{
    private const int DecodedBytes = 66 * 1024 * 1024;

    public static async Task RunAsync(Func<string, Task<string>> newDatabase, IReadOnlyList<PeersBenchmark.GcMode> gcModes, TimeSpan settle, TextWriter output)
    {
        var folder = Path.Combine(Path.GetTempPath(), "tmo-bench", "uploads-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        var random = new Random(14);
        var definition = new byte[DecodedBytes];
        random.NextBytes(definition);
        // One part of two: the store keeps it and waits for the other, so the run measures uploads, not ONNX parsing.
        var body = Encoding.UTF8.GetBytes(
            $"{{\"definition\":\"{Convert.ToBase64String(definition)}\",\"total_definition_length\":{2L * DecodedBytes},\"total_parts\":2}}");
        definition = [];

        output.WriteLine();
        output.WriteLine($"## uploads: 4 sequential + 4 concurrent definition parts of {Mb(body.Length)} MB (base64 JSON; {Mb(DecodedBytes)} MB decoded); RSS of the service process; machine shared with other work");
        output.WriteLine();
        output.WriteLine("| GC | RSS start MB | peak MB | RSS +60 s MB | in flight MB (max) | (peak − start) / in flight (goal < 2) | after / start (goal ≤ 1.5) | anonymous MB start → +60 s | answers |");
        output.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---|");
        foreach (var gc in gcModes)
        {
            var port = BenchPorts.Free();
            var baseAddress = new Uri($"http://127.0.0.1:{port}/");
            var name = "uploads-" + gc.Name;
            await using var service = BenchProcess.Start(name, "dotnet",
            [
                Path.Combine(AppContext.BaseDirectory, "TrainedModelsOrleans.Silo.dll"),
                $"--Urls={baseAddress}", .. BenchSecurity.Arguments, $"--ConnectionStrings:Postgres={await newDatabase("uploads_" + gc.Name.Replace('-', '_'))}", $"--Node:Name={name}",
                $"--Node:SiloPort={BenchPorts.Free()}", $"--Node:GatewayPort={BenchPorts.Free()}",
                $"--DataDirectory={Path.Combine(folder, name)}", "--Logging:LogLevel:Default=Warning",
                // A part's base64 is one string longer than ES's 50,000,000-character default: allowed, as an operator
                // taking large parts would, so that the parts are stored and the run measures what a stored part costs.
                $"--Input:MaxStringLength={body.Length}",
            ], AppContext.BaseDirectory, new Dictionary<string, string>(gc.Environment));
            await BenchHttp.WaitUntilAnsweringAsync(baseAddress, service, TimeSpan.FromSeconds(120));
            using var http = BenchSecurity.Client(baseAddress, TimeSpan.FromMinutes(5));
            for (var i = 0; i < 8; i++)
            {
                using var put = await http.PutAsync($"_ml/trained_models/upload-{i}", Json("""{"model_type":"onnx","input":{"field_names":["x"]},"inference_config":{"pass_through":{}}}"""));
                if (!put.IsSuccessStatusCode) throw new InvalidOperationException($"model config: {(int)put.StatusCode} {await put.Content.ReadAsStringAsync()}");
            }
            await Task.Delay(TimeSpan.FromSeconds(3));
            var start = Rss(service.Id);
            var anonymousStart = RssAnonymous(service.Id);

            var answers = new List<int>();
            for (var i = 0; i < 4; i++) answers.Add(await UploadAsync(http, $"upload-{i}", body));
            answers.AddRange(await Task.WhenAll(Enumerable.Range(4, 4).Select(i => UploadAsync(http, $"upload-{i}", body))));
            var peak = PeakRss(service.Id);
            await Task.Delay(settle);
            if (service.HasExited)
                throw new InvalidOperationException($"the service ({gc.Name} GC) exited with {service.ExitCode}:\n{service.OutputTail()}");
            var after = Rss(service.Id);
            var anonymousAfter = RssAnonymous(service.Id);

            var inFlight = 4L * body.Length;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {gc.Name} | {Mb(start)} | {Mb(peak)} | {Mb(after)} | {Mb(inFlight)} | {(double)(peak - start) / inFlight:0.00} | {(double)after / start:0.00} | {Mb(anonymousStart)} → {Mb(anonymousAfter)} | {string.Join(' ', answers)} |"));
        }
        try { Directory.Delete(folder, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    private static async Task<int> UploadAsync(HttpClient http, string id, byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await http.PutAsync($"_ml/trained_models/{id}/definition/0", content);
        if (!response.IsSuccessStatusCode) Console.Error.WriteLine($"  upload {id}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return (int)response.StatusCode;
    }

    private static StringContent Json(string text) => new(text, Encoding.UTF8, "application/json");

    private static long Rss(int pid) => StatusKb(pid, "VmRSS:") * 1024;

    /// <summary>The anonymous pages of RSS: the managed heap and native allocations, not mapped files.</summary>
    private static long RssAnonymous(int pid) => StatusKb(pid, "RssAnon:") * 1024;

    /// <summary>The kernel's high-water mark of the process's RSS: the peak, however short.</summary>
    private static long PeakRss(int pid) => StatusKb(pid, "VmHWM:") * 1024;

    private static long StatusKb(int pid, string field)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith(field, StringComparison.Ordinal));
        return long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
    }

    private static string Mb(long bytes) => (bytes / (1024.0 * 1024)).ToString("0", CultureInfo.InvariantCulture);
}
