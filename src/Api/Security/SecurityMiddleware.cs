using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using TrainedModelsOrleans.Api.Http;
using TrainedModelsOrleans.Grains.Errors;

namespace TrainedModelsOrleans.Api.Security;

/// <summary>
/// Authenticates every request and checks the action of its endpoint against the subject's roles before anything
/// else reads it (ES's security filter runs before the handler's own checks). Failures answer as ES does: 401
/// security_exception with its WWW-Authenticate challenges, 403 naming the action, the subject and the privileges that
/// would grant it.
/// </summary>
public sealed class SecurityMiddleware(RequestDelegate next, Authenticator authenticator, ILogger<SecurityMiddleware> logger)
{
    /// <summary>The endpoint ASP.NET Core routing selects for a path whose endpoints take other methods (it answers 405).</summary>
    private const string MethodNotAllowedEndpoint = "405 HTTP Method Not Supported";

    private const string SubjectItem = "tmo.security.subject";

    /// <summary>ES's DefaultAuthenticationFailureHandler challenges (the Bearer one is for its token service, absent here).</summary>
    public static readonly StringValues Challenges = new(["Basic realm=\"security\" charset=\"UTF-8\"", "ApiKey"]);

    public async Task InvokeAsync(HttpContext context)
    {
        AuthenticationOutcome outcome;
        try
        {
            outcome = await authenticator.AuthenticateAsync(context.Request.Headers.Authorization, context.RequestAborted);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            return;
        }
        catch (Exception error)
        {
            // The realm is a grain: a node leaving, a timeout or PostgreSQL away fails the lookup. Answered as the
            // API answers any failure (503, 408, …), in ES's shape; this middleware runs before the one that would.
            await ElasticsearchMiddleware.WriteFailureAsync(context, error, default, logger);
            return;
        }

        var uri = $"{context.Request.Path}{context.Request.QueryString}";
        switch (outcome)
        {
            case AuthenticationOutcome.MissingCredentials:
                await Unauthorized(context, $"missing authentication credentials for REST request [{uri}]");
                return;
            case AuthenticationOutcome.WrongUserPassword wrong:
                await Unauthorized(context, $"unable to authenticate user [{wrong.Username}] for REST request [{uri}]");
                return;
            case AuthenticationOutcome.WrongCredentials:
                await Unauthorized(context, "unable to authenticate with provided credentials and anonymous access is not allowed for this request");
                return;
        }

        var subject = ((AuthenticationOutcome.Authenticated)outcome).Subject;
        context.Items[SubjectItem] = subject;
        // A path no endpoint serves, or one served for other methods, goes on to the usual "no handler found" or
        // "incorrect HTTP method" once the caller is known.
        if (context.GetEndpoint() is { } endpoint && endpoint.DisplayName != MethodNotAllowedEndpoint)
        {
            var action = ActionOf(endpoint);
            if (!subject.Access.Allows(action) && !OwnAccount(context, subject, action))
            {
                var granting = Grains.Security.ClusterPrivileges.ThatGrant(action);
                var reason = $"action [{action}] is unauthorized for {subject.Description}"
                    + (granting.Count > 0 ? $", this action is granted by the cluster privileges [{string.Join(",", granting)}]" : "");
                await WriteAsync(context, 403, "security_exception", reason, challenge: false);
                return;
            }
        }
        await next(context);
    }

    /// <summary>The subject the middleware authenticated for this request (null when security is off).</summary>
    public static AuthenticatedSubject? SubjectOf(HttpContext context) => context.Items[SubjectItem] as AuthenticatedSubject;

    public static string ActionOf(Endpoint endpoint) =>
        endpoint.Metadata.GetMetadata<SecuredAction>()?.Name
        ?? (endpoint.Metadata.GetMetadata<RouteContract>() is { } contract ? RouteActions.For(contract.Route) : null)
        ?? RouteActions.Unlisted;

    /// <summary>
    /// A user (not an API key) changes their own password whatever their roles: named in the path, or the path names no
    /// one (<c>_security/user/_password</c>).
    /// </summary>
    private static bool OwnAccount(HttpContext context, AuthenticatedSubject subject, string action) =>
        RouteActions.IsOwnAccountAction(action) && subject.ApiKey is null
        && (!context.Request.RouteValues.TryGetValue("username", out var name) || name as string == subject.Username);

    private static Task Unauthorized(HttpContext context, string reason) => WriteAsync(context, 401, "security_exception", reason, challenge: true);

    private static async Task WriteAsync(HttpContext context, int status, string type, string reason, bool challenge)
    {
        context.Response.Headers["X-Elastic-Product"] = "Elasticsearch";
        var body = ElasticsearchErrors.Body(status, type, reason);
        if (challenge)
        {
            context.Response.Headers.WWWAuthenticate = Challenges;
            // ES repeats the challenge headers in the error body ("header":{"WWW-Authenticate":[...]}).
            var error = body["error"]!.AsObject();
            error["header"] = Header();
            error["root_cause"]![0]!["header"] = Header();
        }
        context.Response.StatusCode = status;
        await ElasticsearchJson.WriteAsync(context, body);
    }

    private static JsonObject Header() => new() { ["WWW-Authenticate"] = new JsonArray([.. Challenges.Select(c => (JsonNode?)JsonValue.Create(c))]) };
}
