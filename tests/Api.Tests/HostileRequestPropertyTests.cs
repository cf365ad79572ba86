using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.FSharp.Core;
using TrainedModelsOrleans.Api.Http;
using Xunit;

namespace TrainedModelsOrleans.Api.Tests;

/// <summary>
/// Generated hostile requests for every route in RouteContracts (a new endpoint is covered by adding its line): each
/// answers a 4xx in Elasticsearch's error shape within a deadline, the node still answers, and no row changed.
/// A GET may answer 2xx (the generator cannot always make a read's odd parameter invalid, and a read changes nothing),
/// and so may a stop of an id that matches nothing, as in ES.
/// </summary>
public sealed class HostileRequestPropertyTests(ServiceFixture service) : IClassFixture<ServiceFixture>
{
    private const int Cases = 300;
    private static readonly TimeSpan PerRequest = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan WholeRun = TimeSpan.FromMinutes(4);

    /// <summary>One request: method, path, query string and body bytes (null: none).</summary>
    public sealed record HostileRequest(string Method, string Path, string Query, byte[]? Body, string What)
    {
        public override string ToString() =>
            $"{What}: {Method} {Path[..Math.Min(200, Path.Length)]}{Query[..Math.Min(200, Query.Length)]} body {(Body is null ? "none" : Encoding.UTF8.GetString(Body, 0, Math.Min(300, Body.Length)))}";
    }

    private static readonly string[] HostileIds =
    [
        "..", "../..%2Fetc%2Fpasswd", "%2e%2e", "%2e%2e%2f%2e%2e", "..%5C..%5Cwindows", "UPPER", "_all", "*", "a%0Ab", "a%1B%5B31m", "%7F",
        "%C3%BCn%C3%AF%F0%9F%98%80", "%E2%80%AE", "%ED%A0%80", "a%20b", new string('a', 600), new string('b', 3000),
        string.Concat(Enumerable.Repeat("%C3%A9", 700)), "-leading", "trailing-", "a,b,*", "%22%3E%3Cscript%3E",
    ];

    private static readonly string[] HostileNumbers =
    [
        "18446744073709551616", "9223372036854775808", "-9223372036854775809", "-1", "-2147483649", "2147483648", "1e39", "-1e39", "1e400",
        "1.5", "0.0000001", "99999999999999999999999999999999999999",
    ];

    private static readonly string[] HostileQueryValues =
    [
        // Not "-1" or "": ES reads those as "no timeout" and "the default".
        .. HostileNumbers.Where(n => n != "-1"), "NaN", "Infinity", "-Infinity", "9223372036854775807b", "99999999999999999999b", "-5b", "1zz",
        "%00", "%0A", "tru", "%ED%A0%80", new string('9', 300), "1%2C2", "..%2F..",
    ];

    /// <summary>JSON values of the wrong type, out of range, or not JSON at all.</summary>
    private static readonly string[] HostileValues =
    [
        .. HostileNumbers, "NaN", "Infinity", "-Infinity", "\"NaN\"", "\"Infinity\"", "true", "null", "{}", "[]", "[[[]]]", "\"\"",
        "\"!!!not base64!!!\"", "\"AA=A\"", "\"\\ud800\"", "\"\\udc00x\"", "{\"a\":1,\"a\":2}", "\"" + new string('s', 100_000) + "\"",
        "\"9223372036854775807b\"", "\"-1s\"", "\"..\\/..\\/etc\"", "[1,2,\"x\"]", "{\"shape\":[2,2],\"data\":[1,2,3]}",
        "{\"shape\":[4294967296,4294967296],\"data\":[]}", "{\"shape\":[-1],\"data\":[1]}", "{\"shape\":[1,64],\"data\":[1e39]}",
    ];

    private static readonly string[] FieldNames =
    [
        "docs", "inference_config", "timeout", "number_of_allocations", "threads_per_allocation", "queue_capacity", "cache_size", "priority",
        "definition", "compressed_definition", "total_definition_length", "definition_length", "total_parts", "vocabulary", "merges",
        "scores", "input", "field_names", "model_type", "processors", "pipeline", "description", "tensor", "shape", "data", "_source",
        "adaptive_allocations", "deployment_id", "tags", "metadata", "platform_architecture", "prefix_strings", "on_failure",
    ];

    private static Gen<string> Hostile(string[] values) => Gen.Elements(values);

    private static Gen<string> ObjectBody =>
        from count in Gen.Choose(1, 4)
        from names in Gen.ArrayOf(Gen.Elements(FieldNames), count)
        from values in Gen.ArrayOf(Hostile(HostileValues), count)
        from duplicate in Gen.Elements(true, false, false)
        select "{" + string.Join(",", names.Zip(values, (n, v) => $"\"{n}\":{v}")
            .Concat(duplicate ? [$"\"{names[0]}\":{values[0]}"] : [])) + "}";

    private static Gen<string> InferBody =>
        from value in Hostile(HostileValues)
        from name in Gen.Elements("text_field", "input", "tensor", "col1")
        from duplicate in Gen.Elements(true, false)
        select "{\"docs\":[{" + $"\"{name}\":{value}" + (duplicate ? $",\"{name}\":{value}" : "") + "}]}";

    private static readonly byte[] BadUtf8 = [0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80, 0xf8];

    private static Gen<byte[]> Body =>
        Gen.Frequency(
            (5, ObjectBody.Select(Encoding.UTF8.GetBytes)),
            (3, InferBody.Select(Encoding.UTF8.GetBytes)),
            (1, Gen.Choose(1_001, 1_500).Select(d => Encoding.UTF8.GetBytes(new string('[', d) + new string(']', d)))),
            (1, Gen.Choose(1_001, 1_500).Select(d => Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("{\"a\":", d)) + "1" + new string('}', d)))),
            (2, from text in ObjectBody from at in Gen.Choose(0, 1000) from bad in Gen.Elements(BadUtf8)
                select Encoding.UTF8.GetBytes(text).Take(Math.Min(at, Encoding.UTF8.GetByteCount(text) - 2)).Append(bad)
                    .Concat(Encoding.UTF8.GetBytes("\"}")).ToArray()),
            (1, Gen.Elements("{", "{\"docs\":", "[1,2", "\"just a string\"", "{\"a\":1}}", "{'single':1}", "{\"a\":01}", "{\"a\":+1}", "\u0000",
                "{\"a\" 1}", "{\"a\":1,}").Select(Encoding.UTF8.GetBytes)));

    private static Gen<HostileRequest> Requests(IReadOnlyDictionary<string, string> ids) =>
        from contract in Gen.Elements(RouteContracts.All.ToArray())
        from kind in Gen.Elements(Enumerable.Range(0, 3).ToArray())
        from id in Hostile(HostileIds)
        // Not the path's own names: ES reads those from the path, a query value of that name is not hostile.
        from parameter in Gen.Elements(contract.Parameters
            .Where(p => p is not ("source" or "source_content_type") && !contract.Route.Contains("{" + p + "}", StringComparison.Ordinal))
            .Append("not_a_parameter").ToArray())
        from value in Hostile(HostileQueryValues)
        from body in Body
        select Build(contract, kind, id, parameter, value, body, ids);

    /// <summary>
    /// Makes the request hostile in one way the route allows: an id (a route with a path parameter), a query value, or a body
    /// (a route that reads one; one that reads none is sent a body too, which ES refuses). Path parameters not made hostile
    /// name real objects, so the hostile part is what the answer is about.
    /// </summary>
    private static HostileRequest Build(RouteContract contract, int kind, string id, string parameter, string value, byte[] body,
        IReadOnlyDictionary<string, string> ids)
    {
        var (method, pattern) = (contract.Route.Split(' ')[0], contract.Route.Split(' ')[1]);
        var hasPathParameter = pattern.Contains('{');
        if (kind == 0 && !hasPathParameter) kind = 1;
        var segments = pattern.Split('/').Select(s => s.StartsWith('{')
            ? kind == 0 ? id : ids.GetValueOrDefault(s.Trim('{', '}'), ids["model_id"])
            : s);
        var path = string.Join("/", segments);
        if (path.Length == 0) path = "/";
        return kind switch
        {
            0 => new HostileRequest(method, path, "", contract.Body == BodyUse.Required ? Encoding.UTF8.GetBytes("{}") : null, "hostile id"),
            1 => new HostileRequest(method, path, $"?{parameter}={value}", null, "hostile query value"),
            _ => new HostileRequest(method, path, "", body, contract.Body == BodyUse.None ? "a body where none is read" : "hostile body"),
        };
    }

    [Fact]
    public async Task Hostile_requests_to_every_route_answer_a_4xx_in_elasticsearchs_shape_and_change_nothing()
    {
        var model = await service.UploadModelAsync("hostile");
        var deployed = await service.UploadModelAsync("hostile-deployed");
        (await service.StartAsync(deployed)).AssertOk();
        (await service.PutAsync("/_ingest/pipeline/hostile-pipeline", new JsonObject { ["processors"] = new JsonArray() })).AssertOk();
        var ids = new Dictionary<string, string>
        {
            ["model_id"] = deployed, ["deployment_id"] = deployed, ["model_alias"] = "hostile-alias", ["id"] = "hostile-pipeline",
            ["part"] = "0", ["asset"] = "index.html",
        };
        var before = await SnapshotAsync();
        using var wholeRun = new CancellationTokenSource(WholeRun);
        var ran = 0;
        var seen = new HashSet<string>();

        var property = Prop.ForAll(Arb.From(Requests(ids)), (HostileRequest request) =>
        {
            wholeRun.Token.ThrowIfCancellationRequested();
            ran++;
            seen.Add(request.Method + " " + request.Path.Split('?')[0]);
            var (status, json, text) = SendAsync(request, wholeRun.Token).GetAwaiter().GetResult();
            // A read changes nothing; ES answers a stop whose ids match nothing {"stopped":true} (allow_no_match defaults to true).
            var readOnly = request.Method == "GET" || (request.Path.EndsWith("/deployment/_stop", StringComparison.Ordinal) && request.What == "hostile id");
            Assert.True(status is >= 400 and < 500 || (readOnly && status is >= 200 and < 300),
                $"{request} answered {status}: {text[..Math.Min(500, text.Length)]}");
            // ES answers a GET of pipelines or users that match nothing with 404 and {}.
            var missingPipeline = status == 404 && request.Method == "GET" && text == "{}"
                && (request.Path.StartsWith("/_ingest/pipeline/", StringComparison.Ordinal) || request.Path.StartsWith("/_security/user/", StringComparison.Ordinal));
            // ES answers a DELETE of a user that does not exist with 404 and {"found":false}.
            var missingUser = status == 404 && request.Method == "DELETE" && request.Path.StartsWith("/_security/user/", StringComparison.Ordinal)
                && text == """{"found":false}""";
            if (status >= 400 && !missingPipeline && !missingUser)
            {
                Assert.True(json?["error"]?["type"] is not null && json["error"]?["reason"] is not null && json["status"]?.GetValue<int>() == status,
                    $"{request} answered {status} without ES's error shape: {text[..Math.Min(500, text.Length)]}");
            }
            var root = SendAsync(new HostileRequest("GET", "/", "", null, "alive"), wholeRun.Token).GetAwaiter().GetResult();
            Assert.True(root.Status == 200, $"after {request} GET / answered {root.Status}");
        });
        Check.One(FsCheck.Config.QuickThrowOnFailure.WithMaxTest(Cases)
            .WithReplay(FSharpOption<Replay>.Some(new Replay(new Rnd(20261207UL, 0x9E3779B97F4A7C15UL), FSharpOption<int>.None))), property);

        Assert.Equal(Cases, ran);
        Assert.Equal(before, await SnapshotAsync());
        await service.StopAsync(deployed);
    }

    /// <summary>Who sends a request of <see cref="Hostile_requests_without_credentials_or_privileges_are_refused_before_they_are_read_and_change_nothing"/>.</summary>
    public enum Caller { Nobody, WrongPassword, UnknownApiKey, Monitor }

    [Fact]
    public async Task Hostile_requests_without_credentials_or_privileges_are_refused_before_they_are_read_and_change_nothing()
    {
        var deployed = await service.UploadModelAsync("unauthorized-deployed");
        (await service.StartAsync(deployed)).AssertOk();
        var monitor = await Security.SecuredService.CreateUserAsync(service, MlApi.NewId("hostile-monitor"), "monitor-password", "monitor");
        var ids = new Dictionary<string, string>
        {
            ["model_id"] = deployed, ["deployment_id"] = deployed, ["model_alias"] = "unauthorized-alias", ["id"] = "no-pipeline",
            ["part"] = "0", ["asset"] = "index.html",
        };
        using var anonymous = new HttpClient { BaseAddress = service.Http.BaseAddress, Timeout = PerRequest };
        var before = await SnapshotAsync();
        using var wholeRun = new CancellationTokenSource(WholeRun);
        var ran = 0;

        var callers = Gen.Elements(Enum.GetValues<Caller>());
        var property = Prop.ForAll(Arb.From(from request in Requests(ids) from caller in callers select (request, caller)), pair =>
        {
            var (request, caller) = pair;
            wholeRun.Token.ThrowIfCancellationRequested();
            ran++;
            var authorization = caller switch
            {
                Caller.Nobody => null,
                Caller.WrongPassword => TestSupport.TestSecurity.Basic("elastic", "not-the-password-" + ran),
                Caller.UnknownApiKey => TestSupport.TestSecurity.ApiKey(Convert.ToBase64String(Encoding.UTF8.GetBytes($"no-such-key-{ran}:secret"))),
                _ => monitor,
            };
            var (status, json, text) = SendAsync(request, wholeRun.Token, authorization, caller == Caller.Nobody ? anonymous : null).GetAwaiter().GetResult();
            var shown = $"{caller} {request} answered {status}: {text[..Math.Min(500, text.Length)]}";
            // A request line or headers over ES's limits are refused before authentication (414, 431), as ES's HTTP layer does.
            var oversizedHead = status is 414 or 431;
            if (caller != Caller.Monitor && !oversizedHead)
            {
                Assert.True(status == 401, shown);
                Assert.Equal("security_exception", json?["error"]?["type"]?.GetValue<string>());
            }
            else
            {
                // monitor reads (2xx) and is refused the rest (4xx), never a 5xx.
                var monitorMayRun = request.Method is "GET" or "HEAD"
                    || request.Path.EndsWith("/_infer", StringComparison.Ordinal) || request.Path.EndsWith("/_simulate", StringComparison.Ordinal);
                Assert.True(status is >= 400 and < 500 || (status is >= 200 and < 300 && monitorMayRun), shown);
            }
            if (status >= 400 && text != "{}" && text != """{"found":false}""")
                Assert.True(json?["error"]?["type"] is not null && json["status"]?.GetValue<int>() == status, $"not ES's error shape: {shown}");
        });
        Check.One(FsCheck.Config.QuickThrowOnFailure.WithMaxTest(Cases)
            .WithReplay(FSharpOption<Replay>.Some(new Replay(new Rnd(20261208UL, 0x9E3779B97F4A7C15UL), FSharpOption<int>.None))), property);

        Assert.Equal(Cases, ran);
        Assert.Equal(before, await SnapshotAsync());
        await service.StopAsync(deployed);
    }

    private async Task<(int Status, JsonNode? Json, string Text)> SendAsync(HostileRequest request, CancellationToken wholeRun,
        AuthenticationHeaderValue? authorization = null, HttpClient? http = null)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(wholeRun);
        deadline.CancelAfter(PerRequest);
        using var message = new HttpRequestMessage(new HttpMethod(request.Method), request.Path + request.Query);
        // The fixture's client signs in as elastic; another caller's header replaces it.
        if (authorization is not null) message.Headers.Authorization = authorization;
        if (request.Body is not null)
        {
            message.Content = new ByteArrayContent(request.Body);
            message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }
        using var response = await (http ?? service.Http).SendAsync(message, deadline.Token);
        var text = await response.Content.ReadAsStringAsync(deadline.Token);
        JsonNode? json = null;
        try { json = JsonNode.Parse(text); } catch (System.Text.Json.JsonException) { }
        return ((int)response.StatusCode, json, text);
    }

    /// <summary>Every row of every table but Orleans' membership (which heartbeats), as one fingerprint per table; grain state per grain.</summary>
    private async Task<string> SnapshotAsync()
    {
        var tables = new List<string>();
        await using (var list = service.Database.DataSource.CreateCommand(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' " +
            "AND table_name NOT LIKE 'orleansmembership%' AND table_name <> 'orleansstorage' ORDER BY table_name"))
        await using (var reader = await list.ExecuteReaderAsync())
            while (await reader.ReadAsync()) tables.Add(reader.GetString(0));
        var snapshot = new StringBuilder();
        // Grain state row by row, so that a difference names the grain. A transactional state's row is rewritten by a
        // read-only transaction (its metadata's timestamp): what counts is its committed state, sequence and pending changes.
        await using (var grains = service.Database.DataSource.CreateCommand("""
            SELECT graintypestring || '/' || coalesce(grainidextensionstring, '') || ' ' || md5(CASE
                WHEN j ? 'CommittedState' THEN (j -> 'CommittedState')::text || (j -> 'CommittedSequenceId')::text || (j -> 'PendingStates')::text
                ELSE coalesce(j::text, '') END)
            FROM (SELECT *, convert_from(payloadbinary, 'UTF8')::jsonb AS j FROM orleansstorage) s ORDER BY 1
            """))
        await using (var reader = await grains.ExecuteReaderAsync())
            while (await reader.ReadAsync()) snapshot.Append(reader.GetString(0)).Append('\n');
        foreach (var table in tables)
        {
            await using var command = service.Database.DataSource.CreateCommand(
                $"SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM \"{table}\" t");
            snapshot.Append(table).Append('=').Append(await command.ExecuteScalarAsync()).Append('\n');
        }
        return snapshot.ToString();
    }
}
