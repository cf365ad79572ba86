using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Orleans;
using TrainedModelsOrleans.Grains.Security;

namespace TrainedModelsOrleans.Api.Security;

/// <summary>
/// Gives the reserved elastic user its password at start: Security:ElasticPassword when configured (the setting wins, so
/// changing it changes the password), else, the first time only, a generated one printed once — the only secret this
/// service ever logs, as Elasticsearch prints its generated password once.
/// </summary>
public static partial class ElasticUserBootstrap
{
    // No shell-special characters: the walk-through pastes it into a shell variable.
    private const string PasswordCharacters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";

    /// <summary>Says, before the node serves anything, that security is off.</summary>
    public static void WarnIfDisabled(SecurityOptions options, ILogger logger)
    {
        if (!options.Enabled) LogSecurityDisabled(logger);
    }

    public static async Task RunAsync(IGrainFactory grains, SecurityOptions options, Authenticator authenticator, ILogger logger,
        CancellationToken cancellationToken)
    {
        if (!options.Enabled) return;
        var realm = grains.GetGrain<ISecurityRealmGrain>(ISecurityRealmGrain.Key);
        if (options.ElasticPassword is { Length: > 0 } configured)
        {
            var stored = (await realm.GetUser(SecurityRealmGrain.ElasticUser))?.PasswordHash;
            if (stored is null || !await authenticator.VerifyAsync(configured, stored, cancellationToken))
                await realm.SetElasticPassword(await authenticator.HashAsync(configured, options.PasswordHashIterations, cancellationToken), replace: true);
            return;
        }
        var generated = RandomNumberGenerator.GetString(PasswordCharacters, 20);
        var hash = await authenticator.HashAsync(generated, options.PasswordHashIterations, cancellationToken);
        if (await realm.SetElasticPassword(hash, replace: false)) LogGeneratedPassword(logger, generated);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Security is disabled (Security:Enabled=false): every request is served without authentication. "
        + "Do not expose this node beyond a trusted machine.")]
    private static partial void LogSecurityDisabled(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Security is on. The password of the [elastic] user was generated: {Password} — it is shown "
        + "only this once and only its hash is stored. Change it with POST /_security/user/elastic/_password {{\"password\":\"…\"}} "
        + "(authenticated as elastic), or set Security:ElasticPassword.")]
    private static partial void LogGeneratedPassword(ILogger logger, string password);
}
