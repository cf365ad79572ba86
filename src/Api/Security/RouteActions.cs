using System.Collections.Frozen;

namespace TrainedModelsOrleans.Api.Security;

/// <summary>The action a secured endpoint performs, as metadata (the dashboard's group carries one; API routes get theirs from <see cref="RouteActions"/>).</summary>
public sealed record SecuredAction(string Name);

/// <summary>
/// The Elasticsearch action name of every route of the API, in one table beside RouteContracts (same keys): what the
/// roles' cluster privileges are checked against. Names are ES's own (x-pack ML, ingest and security actions); the
/// ML page, the dashboard and the Prometheus scrape are ours, named under cluster:monitor so that monitoring roles
/// reach them (the page under ML's monitor namespace, the other two under plain monitor).
/// </summary>
public static class RouteActions
{
    public const string Main = "cluster:monitor/main";
    public const string MlPage = "cluster:monitor/xpack/ml/ui/get";
    public const string Dashboard = "cluster:monitor/orleans/dashboard";
    public const string PrometheusMetrics = "cluster:monitor/prometheus/metrics";

    /// <summary>An endpoint no table names: only a superuser (fail closed).</summary>
    public const string Unlisted = "cluster:admin/unlisted";

    private const string GetModels = "cluster:monitor/xpack/ml/inference/get";
    private const string ModelStats = "cluster:monitor/xpack/ml/inference/stats/get";
    private const string Simulate = "cluster:admin/ingest/pipeline/simulate";
    private const string GetPipeline = "cluster:admin/ingest/pipeline/get";
    private const string PutUser = "cluster:admin/xpack/security/user/put";
    private const string ChangePassword = "cluster:admin/xpack/security/user/change_password";
    private const string CreateApiKey = "cluster:admin/xpack/security/api_key/create";
    public const string GetApiKey = "cluster:admin/xpack/security/api_key/get";
    public const string InvalidateApiKey = "cluster:admin/xpack/security/api_key/invalidate";

    private static readonly FrozenDictionary<string, string> Table = new Dictionary<string, string>
    {
        ["GET /"] = Main,
        ["GET /_ml/info"] = "cluster:monitor/xpack/ml/info/get",

        ["PUT /_ml/trained_models/{model_id}"] = "cluster:admin/xpack/ml/inference/put",
        ["GET /_ml/trained_models"] = GetModels,
        ["GET /_ml/trained_models/{model_id}"] = GetModels,
        ["DELETE /_ml/trained_models/{model_id}"] = "cluster:admin/xpack/ml/inference/delete",
        ["PUT /_ml/trained_models/{model_id}/definition/{part}"] = "cluster:admin/xpack/ml/trained_models/part/put",
        ["PUT /_ml/trained_models/{model_id}/vocabulary"] = "cluster:admin/xpack/ml/trained_models/vocabulary/put",
        ["GET /_ml/trained_models/_stats"] = ModelStats,
        ["GET /_ml/trained_models/{model_id}/_stats"] = ModelStats,
        ["POST /_ml/trained_models/{model_id}/_infer"] = "cluster:monitor/xpack/ml/inference/infer",
        ["POST /_ml/trained_models/{model_id}/deployment/_infer"] = "cluster:monitor/xpack/ml/trained_models/deployment/infer",

        ["POST /_ml/trained_models/{model_id}/deployment/_start"] = "cluster:admin/xpack/ml/trained_models/deployment/start",
        ["POST /_ml/trained_models/{deployment_id}/deployment/_update"] = "cluster:admin/xpack/ml/trained_models/deployment/update",
        ["POST /_ml/trained_models/{deployment_id}/deployment/_stop"] = "cluster:admin/xpack/ml/trained_models/deployment/stop",
        ["POST /_ml/trained_models/{deployment_id}/deployment/cache/_clear"] = "cluster:admin/xpack/ml/trained_models/cache/clear",
        ["PUT /_ml/trained_models/{model_id}/model_aliases/{model_alias}"] = "cluster:admin/xpack/ml/inference/model_aliases/put",
        ["DELETE /_ml/trained_models/{model_id}/model_aliases/{model_alias}"] = "cluster:admin/xpack/ml/inference/model_aliases/delete",

        ["PUT /_ingest/pipeline/{id}"] = "cluster:admin/ingest/pipeline/put",
        ["GET /_ingest/pipeline/{id}"] = GetPipeline,
        ["GET /_ingest/pipeline"] = GetPipeline,
        ["DELETE /_ingest/pipeline/{id}"] = "cluster:admin/ingest/pipeline/delete",
        ["GET /_ingest/pipeline/_simulate"] = Simulate,
        ["POST /_ingest/pipeline/_simulate"] = Simulate,
        ["GET /_ingest/pipeline/{id}/_simulate"] = Simulate,
        ["POST /_ingest/pipeline/{id}/_simulate"] = Simulate,

        // The cat API reads the models and their stats (RestCatTrainedModelsAction starts with the get action).
        ["GET /_cat/ml/trained_models"] = GetModels,
        ["GET /_cat/ml/trained_models/{model_id}"] = GetModels,

        ["GET /_ml/ui"] = MlPage,
        ["GET /_ml/ui/{asset}"] = MlPage,
        ["GET /_ml/ui/api/cluster"] = MlPage,
        ["GET /_prometheus/metrics"] = PrometheusMetrics,

        ["GET /_security/_authenticate"] = Grains.Security.ClusterAccess.AuthenticateAction,
        ["POST /_security/api_key"] = CreateApiKey,
        ["PUT /_security/api_key"] = CreateApiKey,
        ["GET /_security/api_key"] = GetApiKey,
        ["DELETE /_security/api_key"] = InvalidateApiKey,
        ["GET /_security/user"] = "cluster:admin/xpack/security/user/get",
        ["GET /_security/user/{username}"] = "cluster:admin/xpack/security/user/get",
        ["PUT /_security/user/{username}"] = PutUser,
        ["POST /_security/user/{username}"] = PutUser,
        ["DELETE /_security/user/{username}"] = "cluster:admin/xpack/security/user/delete",
        ["PUT /_security/user/{username}/_password"] = ChangePassword,
        ["POST /_security/user/{username}/_password"] = ChangePassword,
        ["PUT /_security/user/_password"] = ChangePassword,
        ["POST /_security/user/_password"] = ChangePassword,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    public static IEnumerable<string> Routes => Table.Keys;

    /// <summary>The action of a RouteContracts line ("GET /_ml/info"), or null when the table lacks it.</summary>
    public static string? For(string route) => Table.GetValueOrDefault(route);

    /// <summary>Actions a user may perform on their own account whatever their roles (ES's same-user check).</summary>
    public static bool IsOwnAccountAction(string action) => action == ChangePassword;
}
