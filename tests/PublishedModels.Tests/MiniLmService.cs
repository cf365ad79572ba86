using System.Text.Json.Nodes;
using TrainedModelsOrleans.Silo;
using TrainedModelsOrleans.TestSupport;

namespace TrainedModelsOrleans.PublishedModels.Tests;

/// <summary>
/// The whole service (silo + HTTP API on 127.0.0.1, a free port, a database of its own) with MiniLM uploaded as
/// Eland uploads a model — config, definition in base64 parts of 4 MiB, vocabulary — and deployed
/// (1 allocation × 1 thread) for text_embedding under <see cref="ModelId"/>.
/// </summary>
public sealed class MiniLmService : IAsyncLifetime
{
    public const string ModelId = "minilm";

    // Eland's chunk size for a model definition.
    private const int PartBytes = 4 << 20;

    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "tmo-published-tests", Guid.NewGuid().ToString("N"));
    private TestDatabase? _database;
    private SiloHost? _node;

    public HttpClient Http { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync("minilm");
        _node = await SiloHost.StartAsync(
        [
            .. TestSecurity.Arguments,
            "--Urls=http://127.0.0.1:0",
            $"--ConnectionStrings:Postgres={_database.ConnectionString}",
            $"--DataDirectory={_dataDirectory}",
            "--Node:Name=published-models-node",
            "--Node:Processors=2",
            "--Logging:LogLevel:Default=Warning",
            "--Logging:LogLevel:TrainedModelsOrleans=Warning",
            "--Logging:LogLevel:Microsoft.Hosting.Lifetime=Warning",
        ]);
        Http = TestSecurity.Client(_node.BaseAddress, TimeSpan.FromMinutes(2));

        byte[] model = MiniLm.Model();
        (await Http.SendJsonAsync(HttpMethod.Put, $"/_ml/trained_models/{ModelId}", MiniLm.Config("text_embedding"))).AssertOk();
        IReadOnlyList<JsonObject> parts = ModelUploads.Parts(model, (model.Length + PartBytes - 1) / PartBytes);
        for (int i = 0; i < parts.Count; i++)
        {
            (await Http.SendJsonAsync(HttpMethod.Put, $"/_ml/trained_models/{ModelId}/definition/{i}", parts[i])).AssertOk();
        }

        (await Http.SendJsonAsync(HttpMethod.Put, $"/_ml/trained_models/{ModelId}/vocabulary", MiniLm.VocabularyBody())).AssertOk();
        (await Http.StartDeploymentAsync(ModelId, "wait_for=started&timeout=60s")).AssertOk();
    }

    /// <summary>POST _infer with one doc per text, in the model's input field.</summary>
    public Task<Response> InferAsync(params string[] texts) =>
        Http.SendJsonAsync(HttpMethod.Post, $"/_ml/trained_models/{ModelId}/_infer", new JsonObject
        {
            ["docs"] = new JsonArray(texts.Select(t => (JsonNode?)new JsonObject { ["text_field"] = t }).ToArray()),
        });

    public async Task DisposeAsync()
    {
        if (_node is not null)
        {
            await Http.StopDeploymentAsync(ModelId);
            Http.Dispose();
            await _node.DisposeAsync();
        }

        if (_database is not null) await _database.DisposeAsync();
        try { Directory.Delete(_dataDirectory, recursive: true); } catch (DirectoryNotFoundException) { }
    }
}
