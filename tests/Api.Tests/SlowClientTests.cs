using System.Net.Sockets;
using System.Text;
using Xunit;

namespace TrainedModelsOrleans.Api.Tests;

/// <summary>Idle and slow clients hold connections, not the service: others are still answered; lying lengths get a 4xx.</summary>
public sealed class SlowClientTests(ServiceFixture service) : IClassFixture<ServiceFixture>
{
    private const int IdleConnections = 100;
    private const int SlowHeaderConnections = 100;

    [Fact]
    public async Task Two_hundred_idle_and_slow_header_connections_do_not_stop_another_client_being_answered()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var clients = new List<TcpClient>();
        try
        {
            for (var i = 0; i < IdleConnections + SlowHeaderConnections; i++)
            {
                var client = new TcpClient();
                clients.Add(client);
                await client.ConnectAsync(service.Node.BaseAddress.Host, service.Node.BaseAddress.Port, deadline.Token);
                // Half say nothing; half start a request and never finish its headers.
                if (i >= IdleConnections)
                    await client.GetStream().WriteAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: x\r\nX-Slow: "), deadline.Token);
            }
            // A trickle of header bytes on the slow ones while another client works.
            for (var round = 0; round < 3; round++)
            {
                foreach (var slow in clients.Skip(IdleConnections))
                    await slow.GetStream().WriteAsync("a"u8.ToArray(), deadline.Token);
                var answer = await service.Http.GetAsync("/", deadline.Token);
                Assert.Equal(System.Net.HttpStatusCode.OK, answer.StatusCode);
                var models = await service.GetAsync("/_ml/trained_models");
                models.AssertOk();
            }
        }
        finally
        {
            foreach (var client in clients) client.Dispose();
        }
    }

    [Fact]
    public async Task A_content_length_longer_than_the_body_is_dropped_by_the_body_rate_and_others_are_answered()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var client = new TcpClient();
        await client.ConnectAsync(service.Node.BaseAddress.Host, service.Node.BaseAddress.Port, deadline.Token);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(
            $"PUT /_ingest/pipeline/lying HTTP/1.1\r\nHost: x\r\nAuthorization: {TestSecurity.Elastic}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{{\"processors\":[]}}"), deadline.Token);
        (await service.GetAsync("/")).AssertOk();
        // The rest never comes: the connection ends (Kestrel's minimum body rate), with no pipeline made.
        using var received = new MemoryStream();
        await stream.CopyToAsync(received, deadline.Token);
        var answer = Encoding.ASCII.GetString(received.ToArray());
        Assert.True(answer.Length == 0 || answer.StartsWith("HTTP/1.1 4", StringComparison.Ordinal), answer);
        Assert.Equal(0, await service.CountAsync("SELECT count(*) FROM orleansstorage WHERE grainidextensionstring LIKE '%lying%'"));
    }

    [Fact]
    public async Task A_content_length_shorter_than_the_body_answers_the_declared_part_with_a_4xx()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var client = new TcpClient();
        await client.ConnectAsync(service.Node.BaseAddress.Host, service.Node.BaseAddress.Port, deadline.Token);
        var stream = client.GetStream();
        const string body = "{\"processors\":[]}";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(
            $"PUT /_ingest/pipeline/short HTTP/1.1\r\nHost: x\r\nAuthorization: {TestSecurity.Elastic}\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: 5\r\n\r\n{body}"), deadline.Token);
        using var received = new MemoryStream();
        await stream.CopyToAsync(received, deadline.Token);
        var answer = Encoding.UTF8.GetString(received.ToArray());
        Assert.StartsWith("HTTP/1.1 400", answer);
        Assert.Contains("x_content_parse_exception", answer);
        Assert.Equal(0, await service.CountAsync("SELECT count(*) FROM orleansstorage WHERE grainidextensionstring LIKE '%short%'"));
    }
}
