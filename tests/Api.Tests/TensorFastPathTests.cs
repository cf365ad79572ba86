using System.Globalization;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using TrainedModelsOrleans.Grains.Serving;
using Xunit;

namespace TrainedModelsOrleans.Api.Tests;

/// <summary>
/// The short way for tensor _infer requests (read from the request pipe, run on this node's executor, written into
/// the response pipe) must answer byte for byte what the general path answers. `?pretty=false` sends a request the
/// general way (the short way takes no query parameter but timeout), so each body is sent both ways and compared.
/// </summary>
public sealed class TensorFastPathTests(ServiceFixture service) : IClassFixture<ServiceFixture>
{
    private DirectInference Direct => service.Node.Services.GetRequiredService<DirectInference>();

    private static string Row(int seed, int width = 64)
    {
        var random = new Random(seed);
        return string.Join(",", Enumerable.Range(0, width).Select(_ => ((float)random.NextDouble()).ToString("R", CultureInfo.InvariantCulture)));
    }

    private static string Tensor(int seed, string shape = "1,64", int width = 64) => $$$"""{"shape":[{{{shape}}}],"data":[{{{Row(seed, width)}}}]}""";

    private async Task<(Response Short, Response General)> BothWaysAsync(string id, string body, string query = "")
    {
        var path = $"/_ml/trained_models/{id}/_infer";
        var shortWay = await service.PostAsync(path + (query.Length > 0 ? "?" + query : ""), body);
        var general = await service.PostAsync(path + "?" + (query.Length > 0 ? query + "&" : "") + "pretty=false", body);
        return (shortWay, general);
    }

    [Fact]
    public async Task Tensor_requests_take_the_short_way_and_answer_what_the_general_path_answers()
    {
        var model = await service.UploadModelAsync("short");
        (await service.StartAsync(model)).AssertOk();
        string[] bodies =
        [
            $$$"""{"docs":[{"tensor":{{{Tensor(1)}}}}]}""",
            $$$"""{"docs":[{"tensor":{{{Tensor(1)}}}},{"tensor":{{{Tensor(2)}}}},{"tensor":{{{Tensor(3)}}}}]}""",
            $$$"""{"docs":[{"tensors":{"input":{{{Tensor(4)}}}}}]}""",
            $$$"""{"timeout":"5s","docs":[{"tensor":{"data":[{{{Row(5)}}}],"shape":[1,64]}}]}""",
            $$$"""{"docs":[{"tensor":{"shape":[1,64],"data":[{{{string.Join(",", Enumerable.Range(0, 64))}}}]}}]}""",
            $$$"""{"docs":[{"tensor":{{{Tensor(6, "2,64", 128)}}}}]}""",
        ];
        foreach (var body in bodies)
        {
            var before = Direct.RanHere;
            var (shortWay, general) = await BothWaysAsync(model, body);
            shortWay.AssertOk();
            Assert.Equal(before + 1, Direct.RanHere);
            Assert.Equal(general.AssertOk().Text, shortWay.Text);
            Assert.Equal(general.Headers["Content-Type"], shortWay.Headers["Content-Type"]);
            Assert.Equal("Elasticsearch", shortWay.Headers["X-Elastic-Product"]);
            // Made whole, then sent with its length (a chunked answer costs a second socket write per request).
            Assert.Equal(Encoding.UTF8.GetByteCount(shortWay.Text).ToString(CultureInfo.InvariantCulture), shortWay.Headers["Content-Length"]);
            Assert.False(shortWay.Headers.ContainsKey("Transfer-Encoding"));
        }

        var (timed, _) = await BothWaysAsync(model, bodies[0], "timeout=30s");
        timed.AssertOk();
        (await service.StopAsync(model)).AssertOk();
    }

    [Fact]
    public async Task Bodies_the_short_way_cannot_read_get_the_general_answer_and_change_nothing()
    {
        var model = await service.UploadModelAsync("short-bad");
        (await service.StartAsync(model)).AssertOk();
        var good = $$$"""{"tensor":{{{Tensor(1)}}}}""";
        (string Body, string Query, int Status)[] cases =
        [
            ("", "", 400),
            ("null", "", 400),
            ("[]", "", 400),
            ("{}", "", 400),
            ("""{"docs":[]}""", "", 400),
            ("""{"docs":[""", "", 400),
            ($$$"""{"docs":[{{{good}}}],"docs":[{{{good}}}]}""", "", 400),
            ($$$"""{"docs":[{{{good}}}],"unknown":1}""", "", 400),
            ($$$"""{"docs":[{{{good}}}],"inference_config":{}}""", "", 200),
            ($$$"""{"docs":[{{{good}}}],"timeout":"soon"}""", "", 400),
            ($$$"""{"docs":[{{{good}}}],"timeout":5}""", "", 400),
            ($$$"""{"docs":[{{{good}}}]}""", "timeout=soon", 400),
            ($$$"""{"docs":[{"tensor":{{{Tensor(1, "1,10", 10)}}}}]}""", "", 400),
            ($$$"""{"docs":[{"tensor":{{{Tensor(1, "1,64", 10)}}}}]}""", "", 400),
            ($$$"""{"docs":[{"tensor":{{{Tensor(1, "-1,64")}}}}]}""", "", 400),
            ($$$"""{"docs":[{"tensor":{{{Tensor(1, "1,64,1")}}}}]}""", "", 400),
            ("""{"docs":[{"tensor":{"shape":[1,2],"data":[1,"x"]}}]}""", "", 400),
            ($$$"""{"docs":[{"tensor":{"shape":[1,64],"data":[1e39{{{string.Concat(Enumerable.Repeat(",1", 63))}}}]}}]}""", "", 400), // beyond float range: refused, not Infinity (issue 14)
            ($$$"""{"docs":[{"tensor":{{{Tensor(1)}}},"text_field":"x"}]}""", "", 400),
            ($$$"""{"docs":[{"tensors":{"nope":{{{Tensor(1)}}}}}]}""", "", 400),
            ($$$"""{"docs":[{"tensors":{"input":{{{Tensor(1)}}},"input":{{{Tensor(2)}}}}}]}""", "", 400),
            ($$$"""{"docs":[{"tensor":{"shape":[1,64],"shape":[1,64],"data":[{{{Row(1)}}}]}}]}""", "", 400),
            ("""{"docs":[{"text_field":"hello"}]}""", "", 409),
            ($$$"""{"docs":[{{{new StringBuilder().Insert(0, "[", 300)}}}]}""", "", 400),
        ];
        var before = Direct.RanHere;
        foreach (var (body, query, status) in cases)
        {
            var (shortWay, general) = await BothWaysAsync(model, body, query);
            Assert.True((int)general.Status == status, $"{body[..Math.Min(80, body.Length)]}: general path answered {(int)general.Status} {general.Text}");
            Assert.Equal(general.Status, shortWay.Status);
            Assert.Equal(general.Text, shortWay.Text);
        }
        Assert.Equal(before, Direct.RanHere);
        // Nothing broke: the deployment still answers.
        var (after, _) = await BothWaysAsync(model, $$$"""{"docs":[{{{good}}}]}""");
        after.AssertOk();
        (await service.StopAsync(model)).AssertOk();
    }
}
