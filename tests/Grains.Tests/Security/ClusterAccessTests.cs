using TrainedModelsOrleans.Grains.Security;
using Xunit;

namespace TrainedModelsOrleans.Grains.Tests.Security;

public sealed class ClusterAccessTests
{
    private const string Start = "cluster:admin/xpack/ml/trained_models/deployment/start";
    private const string Stats = "cluster:monitor/xpack/ml/inference/stats/get";
    private const string Infer = "cluster:monitor/xpack/ml/inference/infer";
    private const string PutPipeline = "cluster:admin/ingest/pipeline/put";
    private const string Main = "cluster:monitor/main";

    [Theory]
    [InlineData("superuser", true, true, true, true)]
    [InlineData("machine_learning_admin", true, true, true, false)]
    [InlineData("machine_learning_user", false, true, false, false)]
    [InlineData("monitor", false, true, false, true)]
    [InlineData("monitor_ml", false, true, false, false)]
    [InlineData("no_such_role", false, false, false, false)]
    public void Builtin_roles_grant_what_their_cluster_privileges_do(string role, bool start, bool stats, bool pipelines, bool main)
    {
        var access = new ClusterAccess([role]);
        Assert.Equal(start, access.Allows(Start));
        Assert.Equal(stats, access.Allows(Stats));
        Assert.Equal(stats, access.Allows(Infer));
        Assert.Equal(pipelines, access.Allows(PutPipeline));
        Assert.Equal(main, access.Allows(Main));
        // Anyone authenticated may ask who they are.
        Assert.True(access.Allows(ClusterAccess.AuthenticateAction));
    }

    [Fact]
    public void A_key_needs_both_its_descriptors_and_its_owner()
    {
        var limited = new ClusterAccess([BuiltinRoles.Superuser], [new ApiKeyRole("r", ["monitor_ml"])]);
        Assert.True(limited.Allows(Stats));
        Assert.False(limited.Allows(Start));

        var wide = new ClusterAccess([BuiltinRoles.MachineLearningUser], [new ApiKeyRole("r", ["all"])]);
        Assert.True(wide.Allows(Stats));
        Assert.False(wide.Allows(Start));

        // The owner's roles when the key was made bound it too, even if the owner has more now.
        var madeByMlUser = new ClusterAccess([BuiltinRoles.Superuser], [], [BuiltinRoles.MachineLearningUser]);
        Assert.True(madeByMlUser.Allows(Stats));
        Assert.False(madeByMlUser.Allows(Start));

        // role_descriptors {} keeps the owner's privileges; a descriptor with no privileges allows nothing.
        Assert.True(new ClusterAccess([BuiltinRoles.Superuser], []).Allows(Start));
        Assert.False(new ClusterAccess([BuiltinRoles.Superuser], [new ApiKeyRole("none", [])]).Allows(Stats));
    }

    [Fact]
    public void Descriptors_may_hold_raw_action_patterns()
    {
        var access = new ClusterAccess([BuiltinRoles.Superuser], [new ApiKeyRole("r", ["cluster:monitor/xpack/ml/inference/*"])]);
        Assert.True(access.Allows(Infer));
        Assert.False(access.Allows("cluster:monitor/xpack/ml/info/get"));
    }

    [Fact]
    public void Api_key_filters_match_ids_names_prefixes_and_owners()
    {
        var key = new StoredApiKey
        {
            Id = "abc", Name = "ingest-key", KeyHash = "h", Username = "bob", Realm = "default_native", Creation = DateTimeOffset.UnixEpoch,
        };
        Assert.True(new ApiKeyFilter().Matches(key));
        Assert.True(new ApiKeyFilter { Ids = ["x", "abc"] }.Matches(key));
        Assert.False(new ApiKeyFilter { Ids = ["x"] }.Matches(key));
        Assert.True(new ApiKeyFilter { Name = "ingest-*" }.Matches(key));
        Assert.True(new ApiKeyFilter { Name = "*" }.Matches(key));
        Assert.False(new ApiKeyFilter { Name = "ingest" }.Matches(key));
        Assert.True(new ApiKeyFilter { Username = "bob", RealmName = "default_native" }.Matches(key));
        Assert.False(new ApiKeyFilter { Username = "bob", RealmName = "reserved" }.Matches(key));
    }

    [Fact]
    public void Manage_own_api_key_allows_key_actions_but_only_on_the_callers_own_keys()
    {
        const string Get = "cluster:admin/xpack/security/api_key/get";
        var own = new ClusterAccess([BuiltinRoles.Superuser], [new ApiKeyRole("r", [ClusterPrivileges.ManageOwnApiKey])]);
        Assert.True(own.Allows(Get));
        Assert.False(own.AllowsBeyondOwnApiKeys(Get));
        Assert.True(own.Allows("cluster:admin/xpack/security/api_key/create"));

        var any = new ClusterAccess([BuiltinRoles.Superuser], [new ApiKeyRole("r", ["manage_api_key"])]);
        Assert.True(any.AllowsBeyondOwnApiKeys(Get));
        Assert.True(new ClusterAccess([BuiltinRoles.Superuser]).AllowsBeyondOwnApiKeys(Get));
    }
}
