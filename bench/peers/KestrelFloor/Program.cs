using System.Text.Json;
using System.Text.Json.Serialization;

// Issue 11's floor: parse the same tensor-form _infer body the service takes (System.Text.Json, typed, no DOM),
// answer a fixed small JSON. Usage: dotnet TrainedModelsOrleans.KestrelFloor.dll --urls http://127.0.0.1:<port>
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Services.ConfigureHttpJsonOptions(options => options.SerializerOptions.TypeInfoResolverChain.Insert(0, FloorJson.Default));
// Loopback only, whatever --urls says.
builder.WebHost.ConfigureKestrel((context, kestrel) =>
{
    var port = new Uri(context.Configuration["urls"] ?? "http://127.0.0.1:5080").Port;
    kestrel.Listen(System.Net.IPAddress.Loopback, port);
});
var app = builder.Build();

// The answer has the service's shape for one doc of the tiny MLP (8 outputs); its numbers are fixed.
var answer = """{"inference_results":[{"predicted_value":[[0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8]]}]}"""u8.ToArray();

app.MapPost("/_ml/trained_models/{id}/_infer", async (HttpContext context) =>
{
    var body = await JsonSerializer.DeserializeAsync(context.Request.Body, FloorJson.Default.InferBody, context.RequestAborted);
    // Read what the service would read, so a body without a tensor is refused here too.
    if (body?.Docs is not { Length: > 0 } docs || docs.Any(d => d.Tensor?.Data is null || d.Tensor.Shape is null))
        return Results.BadRequest();
    return Results.Bytes(answer, "application/json");
});
app.MapGet("/", () => Results.Ok());

app.Run();

internal sealed record InferBody(Doc[]? Docs);
internal sealed record Doc(Tensor? Tensor);
internal sealed record Tensor(long[]? Shape, float[]? Data);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(InferBody))]
internal sealed partial class FloorJson : JsonSerializerContext;
