using Orleans;
using Orleans.Runtime;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orleans.Hosting;
using TrainedModelsOrleans.Grains.Deployments;
using TrainedModelsOrleans.Grains.ModelStore;
using TrainedModelsOrleans.Grains.Placement;
using TrainedModelsOrleans.Grains.Serving;
using TrainedModelsOrleans.Grains.Pipelines;
using TrainedModelsOrleans.Grains.Transactions;
using TrainedModelsOrleans.Inference.Sessions;

namespace TrainedModelsOrleans.Grains;

public static class GrainsServiceCollectionExtensions
{
    /// <summary>The placement and services the grains of this assembly need on a silo that is ML node <paramref name="node"/>.</summary>
    public static ISiloBuilder AddTrainedModelGrains(this ISiloBuilder silo, LocalNode node, MlSettings? settings = null,
        ServingOptions? serving = null)
    {
        silo.AddPlacementDirector<SiloNamePlacement, SiloNamePlacementDirector>();
        silo.AddIncomingGrainCallFilter<Errors.DatabaseUnavailableFilter>();
        silo.AddIncomingGrainCallFilter<Errors.UnknownIdDeactivationFilter>();
        silo.UseTransactions();
        var services = silo.Services;
        // Transactional state rows name their transactions' participants; JSON must read them back (see the converter).
        services.Configure<Orleans.Serialization.SystemTextJsonGrainStorageSerializerOptions>(o =>
            o.JsonSerializerOptions.Converters.Add(new ParticipantIdJsonConverter()));
        // A participant whose transaction's commit manager died (kill -9 of its silo) keeps its lock until it learns the
        // outcome, and by default asks the manager's new activation only every 60 s (confirmations retry every 30 s):
        // control-plane calls queued behind that lock hung for 20 s. Our transactions take milliseconds; ask every 2 s.
        services.Configure<Orleans.Configuration.TransactionalStateOptions>(o =>
        {
            o.RemoteTransactionPingFrequency = TimeSpan.FromSeconds(2);
            o.ConfirmationRetryDelay = TimeSpan.FromSeconds(2);
            // A transaction waiting for such a lock gives up after 4 s (default 10 s) and is retried by
            // ControlPlaneTransactions, so a wait never spans two 10 s timeouts of the caller's retry budget.
            o.LockAcquireTimeout = TimeSpan.FromSeconds(4);
            // Prepare and Prepared are one-way messages: one sent to a silo that was just killed is lost without an
            // error, and the commit manager waited 20 s (the default) for it; a start then outlived Orleans' 30 s
            // response timeout. Our prepares are one small row write: give up after 4 s and let the retry re-plan.
            o.PrepareTimeout = TimeSpan.FromSeconds(4);
        });
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(node);
        services.TryAddSingleton<ModelStoreTables>();
        services.TryAddSingleton<PipelineTables>();
        services.TryAddSingleton<OnnxModelInspector>();
        services.TryAddSingleton<MlNodes>();
        services.TryAddSingleton<ControlPlaneTransactions>();
        services.TryAddSingleton<SharedSessions>();
        services.TryAddSingleton(serving ?? new ServingOptions());
        services.TryAddSingleton<ServingMetrics>();
        services.TryAddSingleton<DeploymentServing>();
        services.TryAddSingleton<InferenceTargets>();
        services.TryAddSingleton<InferenceRouter>();
        services.TryAddSingleton<DirectInference>();
        services.TryAddSingleton<TreeModels>();
        // Hosts bind the limits to configuration (AddServiceLimits); a host that does not gets the defaults.
        services.TryAddSingleton(sp => new Limits.ServiceLimits(sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<Limits.ServiceLimitsOptions>>().Value));
        services.TryAddSingleton<WakeRequests>();
        services.TryAddSingleton(settings ?? new MlSettings());
        services.TryAddSingleton<NodeAgentService>();
        services.AddHostedService(sp => sp.GetRequiredService<NodeAgentService>());
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<NodeAgentService>());
        services.TryAddSingleton<LegacyModelImport>();
        services.AddHostedService(sp => sp.GetRequiredService<LegacyModelImport>());
        return silo;
    }
}
