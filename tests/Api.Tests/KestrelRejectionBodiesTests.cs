using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using TrainedModelsOrleans.Api.Http;
using TrainedModelsOrleans.Silo;
using Xunit;

namespace TrainedModelsOrleans.Api.Tests;

/// <summary>The rewrite of Kestrel's bare refusal heads, bytes in and bytes out, and what it leaves alone.</summary>
public sealed class KestrelRejectionsTests
{
    private static readonly KestrelRejections Rejections = new(Limits());

    private static KestrelServerLimits Limits()
    {
        var limits = new KestrelServerLimits();
        new InputOptions().ApplyTo(limits);
        return limits;
    }

    private static byte[] Ascii(string text) => Encoding.ASCII.GetBytes(text);

    [Theory]
    [InlineData("HTTP/1.1 400 Bad Request", 400, "illegal_argument_exception", "not valid HTTP/1.1")]
    [InlineData("HTTP/1.1 414 URI Too Long", 414, "too_long_http_line_exception", "An HTTP line is larger than 65536 bytes (Kestrel's MaxRequestLineSize: twice [Input:MaxInitialLineLength]")]
    [InlineData("HTTP/1.1 431 Request Header Fields Too Large", 431, "too_long_http_header_exception", "HTTP header is larger than 65536 bytes or has more than 100 fields (Kestrel's MaxRequestHeadersTotalSize: twice [Input:MaxHeaderSize]")]
    [InlineData("HTTP/1.1 408 Request Timeout", 408, "timeout_exception", "within [10s] (limit from [Input:RequestHeadersTimeout])")]
    public void Kestrels_refusal_head_gets_elasticsearchs_body_and_keeps_its_status_line_and_headers(string statusLine, int status, string type, string reason)
    {
        var head = $"{statusLine}\r\nContent-Length: 0\r\nConnection: close\r\nDate: Mon, 07 Dec 2026 05:00:00 GMT\r\n\r\n";
        var rewritten = Encoding.UTF8.GetString(Rejections.Rewrite(Ascii(head)) ?? throw new Xunit.Sdk.XunitException("not rewritten"));

        var end = rewritten.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var lines = rewritten[..end].Split("\r\n");
        var body = rewritten[(end + 4)..];
        Assert.Equal(statusLine, lines[0]);
        Assert.Equal($"Content-Length: {Encoding.UTF8.GetByteCount(body)}", lines[1]);
        Assert.Equal(new[] { "Connection: close", "Date: Mon, 07 Dec 2026 05:00:00 GMT", "Content-Type: application/json", "X-Elastic-Product: Elasticsearch" }, lines[2..]);
        var json = JsonNode.Parse(body)!;
        Assert.Equal(status, json["status"]!.GetValue<int>());
        Assert.Equal(type, json["error"]!["type"]!.GetValue<string>());
        Assert.Equal(type, json["error"]!["root_cause"]![0]!["type"]!.GetValue<string>());
        Assert.Contains(reason, json["error"]!["reason"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(json["error"]!["reason"]!.GetValue<string>(), json["error"]!["root_cause"]![0]!["reason"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")]
    [InlineData("HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\n\r\n{}")]
    [InlineData("HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\n\r\n")]
    [InlineData("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\n")]
    [InlineData("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n")]
    [InlineData("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nContent-Type: text/plain\r\n\r\n")]
    [InlineData("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nX-Elastic-Product: Elasticsearch\r\n\r\n")]
    [InlineData("HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n")]
    [InlineData("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n")]
    [InlineData("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n")]
    [InlineData("HTTP/1.1 4")]
    [InlineData("")]
    [InlineData("\0\0\0\u0004\u0000\0\0\0\0")]
    public void Anything_but_one_whole_bare_refusal_head_is_left_as_it_is(string response) =>
        Assert.Null(Rejections.Rewrite(Ascii(response)));

    /// <summary>
    /// A real Kestrel with the connection middleware: the application's own bodiless 404 goes out untouched (a request's
    /// features reach the connection's mark), and a refusal afterwards on the same connection gets the body.
    /// </summary>
    [Fact]
    public async Task The_applications_own_bodiless_4xx_passes_untouched_and_kestrels_refusal_after_it_is_rewritten()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, listen => listen.UseKestrelRejectionBodies()));
        await using var app = builder.Build();
        var sawMark = false;
        app.Run(context =>
        {
            KestrelRejectionBodies.Enter(context);
            sawMark = context.Features.Get<RequestsInApplication>()?.Any == true;
            context.Response.StatusCode = 404;
            return Task.CompletedTask;
        });
        await app.StartAsync();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

        await using var connection = await RawHttp.ConnectAsync(address);
        await connection.SendAsync("GET /missing HTTP/1.1\r\nHost: x\r\n\r\n");
        var own = await connection.ReadResponseAsync();
        Assert.True(sawMark);
        Assert.Equal(404, own.Status);
        Assert.Equal("0", own.Header("Content-Length"));
        Assert.Null(own.Header("X-Elastic-Product"));
        Assert.Empty(own.Body);

        await connection.SendAsync("GET /\u0000 HTTP/1.1\r\nHost: x\r\n\r\n");
        RawHttp.AssertElasticsearchRefusal(await connection.ReadResponseAsync(), 400, "illegal_argument_exception");
        await app.StopAsync();
    }
    /// <summary>As the node binds its Urls: endpoint defaults, which a localhost address copies to each loopback it binds.</summary>
    [Fact]
    public async Task A_localhost_url_bound_through_endpoint_defaults_rewrites_too()
    {
        var port = NodeProcess.FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://localhost:{port}");
        builder.WebHost.ConfigureKestrel(k => k.ConfigureEndpointDefaults(listen => listen.UseKestrelRejectionBodies()));
        await using var app = builder.Build();
        app.Run(context => Task.CompletedTask);
        await app.StartAsync();

        await using var connection = await RawHttp.ConnectAsync(new Uri($"http://127.0.0.1:{port}"));
        await connection.SendAsync("GET /a b HTTP/1.1\r\nHost: x\r\n\r\n");
        RawHttp.AssertElasticsearchRefusal(await connection.ReadResponseAsync(), 400, "illegal_argument_exception");
        await app.StopAsync();
    }

    [Fact]
    public async Task Headers_that_do_not_arrive_in_time_get_a_408_naming_the_setting()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k =>
        {
            new InputOptions { RequestHeadersTimeout = TimeSpan.FromSeconds(1) }.ApplyTo(k.Limits);
            k.Listen(IPAddress.Loopback, 0, listen => listen.UseKestrelRejectionBodies());
        });
        await using var app = builder.Build();
        app.Run(context => Task.CompletedTask);
        await app.StartAsync();
        var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());

        await using var connection = await RawHttp.ConnectAsync(address);
        await connection.SendAsync("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ");
        var answer = await connection.ReadResponseAsync();
        RawHttp.AssertElasticsearchRefusal(answer, 408, "timeout_exception");
        Assert.Contains("[Input:RequestHeadersTimeout]", answer.Json()["error"]!["reason"]!.GetValue<string>(), StringComparison.Ordinal);
        await app.StopAsync();
    }
}

/// <summary>The connection's output: the application's writes straight into the transport, Kestrel's refusals rewritten.</summary>
public sealed class RejectionRewritingWriterTests
{
    private static readonly KestrelRejections Rejections = new(new KestrelServerLimits());
    private const string Refusal = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

    private static async Task<string> ReadAllAsync(PipeReader reader)
    {
        var result = await reader.ReadAsync();
        var text = Encoding.UTF8.GetString(result.Buffer.ToArray());
        reader.AdvanceTo(result.Buffer.End);
        return text;
    }

    [Fact]
    public async Task While_the_application_answers_writes_go_straight_to_the_transport_unchanged()
    {
        var transport = new Pipe();
        var requests = new RequestsInApplication();
        var writer = new RejectionRewritingWriter(transport.Writer, Rejections, requests);
        requests.Enter();
        Encoding.ASCII.GetBytes(Refusal, writer.GetSpan(Refusal.Length));
        writer.Advance(Refusal.Length);
        Assert.True(writer.CanGetUnflushedBytes);
        Assert.Equal(Refusal.Length, writer.UnflushedBytes);
        Assert.Equal(Refusal.Length, transport.Writer.UnflushedBytes);
        await writer.FlushAsync();
        Assert.Equal(Refusal, await ReadAllAsync(transport.Reader));
    }

    [Fact]
    public async Task Outside_the_application_a_refusal_is_held_until_the_flush_and_rewritten()
    {
        var transport = new Pipe();
        var writer = new RejectionRewritingWriter(transport.Writer, Rejections, new RequestsInApplication());
        writer.Write(Encoding.ASCII.GetBytes(Refusal));
        Assert.Equal(Refusal.Length, writer.UnflushedBytes);
        Assert.Equal(0, transport.Writer.UnflushedBytes);
        await writer.FlushAsync();
        var sent = await ReadAllAsync(transport.Reader);
        Assert.StartsWith("HTTP/1.1 400 Bad Request\r\n", sent);
        Assert.Contains("\r\nX-Elastic-Product: Elasticsearch\r\n", sent);
        Assert.EndsWith("\"status\":400}", sent);
    }

    [Fact]
    public async Task Held_writes_that_are_no_refusal_go_out_as_they_were()
    {
        var transport = new Pipe();
        var writer = new RejectionRewritingWriter(transport.Writer, Rejections, new RequestsInApplication());
        var large = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nX-Pad: " + new string('p', 5000) + "\r\n\r\n";
        writer.Write(Encoding.ASCII.GetBytes(large));
        await writer.FlushAsync();
        Assert.Equal(large, await ReadAllAsync(transport.Reader));
        writer.Write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"u8);
        await writer.CompleteAsync();
        Assert.Equal("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", await ReadAllAsync(transport.Reader));
    }

    [Fact]
    public async Task A_refusal_written_and_completed_without_a_flush_goes_out_rewritten()
    {
        var transport = new Pipe();
        var writer = new RejectionRewritingWriter(transport.Writer, Rejections, new RequestsInApplication());
        writer.Write(Encoding.ASCII.GetBytes(Refusal));
        writer.Complete();
        Assert.Contains("illegal_argument_exception", await ReadAllAsync(transport.Reader));
    }

    [Fact]
    public async Task Completing_with_an_error_drops_what_is_held_and_passes_the_error_on()
    {
        var transport = new Pipe();
        var writer = new RejectionRewritingWriter(transport.Writer, Rejections, new RequestsInApplication());
        writer.Write(Encoding.ASCII.GetBytes(Refusal));
        writer.Complete(new IOException("reset"));
        await Assert.ThrowsAsync<IOException>(async () => await transport.Reader.ReadAsync());
    }

    [Fact]
    public async Task Cancelling_a_pending_flush_reaches_the_transport()
    {
        var transport = new Pipe(new PipeOptions(pauseWriterThreshold: 16, resumeWriterThreshold: 8));
        var requests = new RequestsInApplication();
        requests.Enter();
        var writer = new RejectionRewritingWriter(transport.Writer, Rejections, requests);
        writer.Write(new byte[64]);
        var flush = writer.FlushAsync();
        Assert.False(flush.IsCompleted);
        writer.CancelPendingFlush();
        Assert.True((await flush).IsCanceled);
    }
}

/// <summary>Requests Kestrel itself refuses, sent raw to the whole service: each answer is Elasticsearch's error.</summary>
public sealed class KestrelRejectionBodiesTests(ServiceFixture service) : IClassFixture<ServiceFixture>
{
    private static readonly string Authorization = $"Authorization: {TestSecurity.Elastic}\r\n";

    [Theory]
    [InlineData("GET /_ml/trained_models/\u0000 HTTP/1.1\r\nHost: x\r\n\r\n")]
    [InlineData("GET /_ml/trained_models/a\nb HTTP/1.1\r\nHost: x\r\n\r\n")]
    [InlineData("GET /_ml/trained_models/a b HTTP/1.1\r\nHost: x\r\n\r\n")]
    [InlineData("GET /_ml/trained_models/\u00e9 HTTP/1.1\r\nHost: x\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: x\r\nBad header line\r\n\r\n")]
    public async Task A_request_kestrel_cannot_parse_is_a_400_in_elasticsearchs_shape(string request)
    {
        await using var connection = await RawHttp.ConnectAsync(service.Node.BaseAddress);
        await connection.SendAsync(request);
        var answer = await connection.ReadResponseAsync();
        RawHttp.AssertElasticsearchRefusal(answer, 400, "illegal_argument_exception");
        Assert.Contains("not valid HTTP/1.1", answer.Json()["error"]!["reason"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_request_line_over_kestrels_ceiling_is_a_414_in_elasticsearchs_shape()
    {
        await using var connection = await RawHttp.ConnectAsync(service.Node.BaseAddress);
        await connection.SendAsync($"GET /{new string('a', 70 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n");
        var answer = await connection.ReadResponseAsync();
        RawHttp.AssertElasticsearchRefusal(answer, 414, "too_long_http_line_exception");
        Assert.StartsWith("An HTTP line is larger than 65536 bytes", answer.Json()["error"]!["reason"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_header_block_over_kestrels_ceiling_is_a_431_in_elasticsearchs_shape()
    {
        await using var connection = await RawHttp.ConnectAsync(service.Node.BaseAddress);
        await connection.SendAsync($"GET / HTTP/1.1\r\nHost: x\r\n{Authorization}X-Big: {new string('h', 70 * 1024)}\r\n\r\n");
        var answer = await connection.ReadResponseAsync();
        RawHttp.AssertElasticsearchRefusal(answer, 431, "too_long_http_header_exception");
        Assert.StartsWith("HTTP header is larger than 65536 bytes", answer.Json()["error"]!["reason"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task On_a_keep_alive_connection_the_answer_before_a_refusal_is_untouched_and_the_refusal_is_rewritten()
    {
        var reference = await AnswerOnItsOwnAsync($"GET / HTTP/1.1\r\nHost: x\r\n{Authorization}\r\n");
        var missing = await AnswerOnItsOwnAsync($"GET /_ml/trained_models/none-such HTTP/1.1\r\nHost: x\r\n{Authorization}\r\n");

        await using var connection = await RawHttp.ConnectAsync(service.Node.BaseAddress);
        await connection.SendAsync($"GET / HTTP/1.1\r\nHost: x\r\n{Authorization}\r\n");
        RawHttp.AssertSameAnswer(reference, await connection.ReadResponseAsync());
        await connection.SendAsync($"GET /_ml/trained_models/none-such HTTP/1.1\r\nHost: x\r\n{Authorization}\r\n");
        RawHttp.AssertSameAnswer(missing, await connection.ReadResponseAsync());
        await connection.SendAsync("GET /\u0000 HTTP/1.1\r\nHost: x\r\n\r\n");
        RawHttp.AssertElasticsearchRefusal(await connection.ReadResponseAsync(), 400, "illegal_argument_exception");
    }

    [Fact]
    public async Task Two_pipelined_requests_are_both_answered_intact()
    {
        var request = $"GET / HTTP/1.1\r\nHost: x\r\n{Authorization}\r\n";
        var reference = await AnswerOnItsOwnAsync(request);

        await using var connection = await RawHttp.ConnectAsync(service.Node.BaseAddress);
        await connection.SendAsync(request + request);
        RawHttp.AssertSameAnswer(reference, await connection.ReadResponseAsync());
        RawHttp.AssertSameAnswer(reference, await connection.ReadResponseAsync());
    }

    private async Task<RawHttp.Answer> AnswerOnItsOwnAsync(string request)
    {
        await using var connection = await RawHttp.ConnectAsync(service.Node.BaseAddress);
        await connection.SendAsync(request);
        return await connection.ReadResponseAsync();
    }
}

/// <summary>The same over HTTPS: the rewriting sits inside TLS, where the plaintext is.</summary>
public sealed class KestrelRejectionBodiesOverHttpsTests : IAsyncLifetime
{
    private HttpsNode _https = null!;

    public async Task InitializeAsync() => _https = await HttpsNode.StartAsync("reject-https");

    public async Task DisposeAsync() => await _https.DisposeAsync();

    [Fact]
    public async Task Over_https_an_answer_passes_untouched_and_a_refusal_after_it_gets_elasticsearchs_body()
    {
        Assert.Equal("https", _https.Node.BaseAddress.Scheme);
        await using var connection = await RawHttp.ConnectAsync(_https.Node.BaseAddress);
        await connection.SendAsync($"GET / HTTP/1.1\r\nHost: x\r\nAuthorization: {TestSecurity.Elastic}\r\n\r\n");
        var root = await connection.ReadResponseAsync();
        Assert.Equal(200, root.Status);
        Assert.Equal("reject-https-node", root.Json()["name"]!.GetValue<string>());
        await connection.SendAsync($"GET /{new string('a', 70 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n");
        RawHttp.AssertElasticsearchRefusal(await connection.ReadResponseAsync(), 414, "too_long_http_line_exception");

        await using var another = await RawHttp.ConnectAsync(_https.Node.BaseAddress);
        await another.SendAsync("GET /\u0000 HTTP/1.1\r\nHost: x\r\n\r\n");
        RawHttp.AssertElasticsearchRefusal(await another.ReadResponseAsync(), 400, "illegal_argument_exception");
    }
    [Fact]
    public async Task Http2_over_tls_is_served_as_before()
    {
        var handler = new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true } };
        using var http = TestSecurity.Client(_https.Node.BaseAddress, TimeSpan.FromSeconds(30), handler: handler);
        http.DefaultRequestVersion = HttpVersion.Version20;
        http.DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact;
        using var answer = await http.GetAsync("/");
        Assert.Equal(HttpVersion.Version20, answer.Version);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal("reject-https-node", JsonNode.Parse(await answer.Content.ReadAsStringAsync())!["name"]!.GetValue<string>());
    }
}

/// <summary>One raw HTTP/1.1 connection (TCP, or TLS over it for https, HTTP/1.1 only): send bytes, read whole responses.</summary>
internal sealed class RawHttp : IAsyncDisposable
{
    private readonly TcpClient _client;
    private readonly Stream _stream;
    private readonly CancellationTokenSource _deadline = new(TimeSpan.FromSeconds(30));
    private byte[] _pending = [];

    private RawHttp(TcpClient client, Stream stream) => (_client, _stream) = (client, stream);

    public static async Task<RawHttp> ConnectAsync(Uri address)
    {
        var client = new TcpClient();
        await client.ConnectAsync(address.Host, address.Port);
        Stream stream = client.GetStream();
        if (address.Scheme == Uri.UriSchemeHttps)
        {
            var tls = new SslStream(stream, leaveInnerStreamOpen: false, (_, _, _, _) => true);
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost" });
            stream = tls;
        }
        return new RawHttp(client, stream);
    }

    public async Task SendAsync(string request) => await _stream.WriteAsync(Encoding.UTF8.GetBytes(request), _deadline.Token);

    public sealed record Answer(int Status, string Head, byte[] Body)
    {
        public string? Header(string name) => Head.Split("\r\n").Skip(1)
            .Where(l => l.StartsWith(name + ":", StringComparison.OrdinalIgnoreCase)).Select(l => l[(name.Length + 1)..].Trim()).FirstOrDefault();

        public int HeaderCount(string name) => Head.Split("\r\n").Count(l => l.StartsWith(name + ":", StringComparison.OrdinalIgnoreCase));

        public JsonNode Json() => JsonNode.Parse(Body) ?? throw new Xunit.Sdk.XunitException($"{Status} with an empty body");
    }

    /// <summary>The next response: its head, and its body by Content-Length, chunks (joined) or to the connection's end.</summary>
    public async Task<Answer> ReadResponseAsync()
    {
        int end;
        while ((end = _pending.AsSpan().IndexOf("\r\n\r\n"u8)) < 0)
            if (!await ReadMoreAsync()) throw new Xunit.Sdk.XunitException($"the connection ended inside a head: {Encoding.ASCII.GetString(_pending)}");
        var head = Encoding.ASCII.GetString(_pending, 0, end);
        Take(end + 4);
        var answer = new Answer(int.Parse(head.Split(' ')[1]), head, []);
        if (answer.Header("Content-Length") is { } length) return answer with { Body = await TakeAsync(int.Parse(length)) };
        if (answer.Header("Transfer-Encoding") is "chunked") return answer with { Body = await UnchunkAsync() };
        while (await ReadMoreAsync()) { }
        return answer with { Body = Take(_pending.Length) };
    }

    private async Task<byte[]> UnchunkAsync()
    {
        using var body = new MemoryStream();
        while (true)
        {
            int lineEnd;
            while ((lineEnd = _pending.AsSpan().IndexOf("\r\n"u8)) < 0) await ReadOrFailAsync();
            var size = Convert.ToInt32(Encoding.ASCII.GetString(_pending, 0, lineEnd).Split(';')[0], 16);
            Take(lineEnd + 2);
            body.Write(await TakeAsync(size + 2), 0, size);
            if (size == 0) return body.ToArray();
        }
    }

    private async Task<byte[]> TakeAsync(int count)
    {
        while (_pending.Length < count) await ReadOrFailAsync();
        return Take(count);
    }

    private byte[] Take(int count)
    {
        var taken = _pending[..count];
        _pending = _pending[count..];
        return taken;
    }

    private async Task ReadOrFailAsync()
    {
        if (!await ReadMoreAsync()) throw new Xunit.Sdk.XunitException("the connection ended inside a body");
    }

    private async Task<bool> ReadMoreAsync()
    {
        var buffer = new byte[16 * 1024];
        var read = await _stream.ReadAsync(buffer, _deadline.Token);
        if (read == 0) return false;
        _pending = [.. _pending, .. buffer.AsSpan(0, read)];
        return true;
    }

    public static void AssertElasticsearchRefusal(Answer answer, int status, string type)
    {
        Assert.Equal(status, answer.Status);
        Assert.StartsWith("application/json", answer.Header("Content-Type"));
        Assert.Equal("Elasticsearch", answer.Header("X-Elastic-Product"));
        Assert.Equal(1, answer.HeaderCount("Content-Length"));
        Assert.Equal("close", answer.Header("Connection"));
        var json = answer.Json();
        Assert.Equal(status, json["status"]!.GetValue<int>());
        Assert.Equal(type, json["error"]!["type"]!.GetValue<string>());
        Assert.Equal(type, json["error"]!["root_cause"]![0]!["type"]!.GetValue<string>());
        Assert.False(string.IsNullOrEmpty(json["error"]!["reason"]!.GetValue<string>()));
    }

    /// <summary>The same status line, headers (but the date) and body as the answer to the same request on its own connection.</summary>
    public static void AssertSameAnswer(Answer expected, Answer actual)
    {
        static string WithoutDate(string head) => string.Join("\r\n", head.Split("\r\n").Where(l => !l.StartsWith("Date:", StringComparison.OrdinalIgnoreCase)));
        Assert.Equal(WithoutDate(expected.Head), WithoutDate(actual.Head));
        Assert.Equal(Encoding.UTF8.GetString(expected.Body), Encoding.UTF8.GetString(actual.Body));
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        _client.Dispose();
        _deadline.Dispose();
    }
}
