using TrainedModelsOrleans.Grains.Security;
using Xunit;

namespace TrainedModelsOrleans.Grains.Tests.Security;

public sealed class ClusterPrivilegesTests
{
    [Theory]
    [InlineData("cluster:admin/xpack/ml/trained_models/deployment/start", "manage_ml,manage,all")]
    [InlineData("cluster:monitor/xpack/ml/inference/stats/get", "monitor_ml,monitor,manage_ml,manage,all")]
    [InlineData("cluster:monitor/xpack/ml/inference/infer", "monitor_ml,monitor,manage_ml,manage,all")]
    [InlineData("cluster:monitor/main", "monitor,manage,all")]
    [InlineData("cluster:admin/ingest/pipeline/get", "read_pipeline,manage_ingest_pipelines,manage_pipeline,manage,all")]
    [InlineData("cluster:admin/xpack/security/user/put", "manage_security,all")]
    [InlineData("cluster:admin/xpack/security/api_key/create", "manage_own_api_key,manage_api_key,manage_security,all")]
    public void The_privileges_that_grant_an_action_are_listed_least_access_first(string action, string expected) =>
        Assert.Equal(expected, string.Join(",", ClusterPrivileges.ThatGrant(action)));

    [Fact]
    public void Manage_grants_every_cluster_action_except_security()
    {
        Assert.True(ClusterPrivileges.Grants("manage", "cluster:admin/xpack/ml/inference/put"));
        Assert.False(ClusterPrivileges.Grants("manage", "cluster:admin/xpack/security/user/put"));
        Assert.True(ClusterPrivileges.Grants("all", "cluster:admin/xpack/security/user/put"));
    }

    [Theory]
    [InlineData("cluster:monitor/*", "cluster:monitor/main", true)]
    [InlineData("cluster:monitor/*", "cluster:admin/x", false)]
    [InlineData("cluster:*/ml/*/get", "cluster:monitor/xpack/ml/inference/get", true)]
    [InlineData("cluster:*/ml/*/get", "cluster:monitor/xpack/ml/inference/put", false)]
    [InlineData("cluster:monitor/main", "cluster:monitor/main", true)]
    [InlineData("cluster:monitor/main", "cluster:monitor/mainx", false)]
    public void Action_patterns_match_as_es_wildcards(string pattern, string action, bool expected)
    {
        Assert.Equal(expected, ActionPattern.Matches(pattern, action));
        // A raw pattern is a privilege of its own in a role descriptor.
        Assert.Equal(expected, ClusterPrivileges.Grants(pattern, action));
    }

    [Fact(Timeout = 10_000)]
    public async Task A_pattern_of_many_stars_is_matched_in_linear_time()
    {
        // The backtracking matcher this replaced took minutes on this (every star tried at every position).
        var pattern = "cluster:" + new string('*', 30) + "q";
        var action = "cluster:admin/xpack/ml/trained_models/deployment/start/x";
        Assert.False(await Task.Run(() => ActionPattern.Matches(pattern, action)));
        Assert.True(await Task.Run(() => ActionPattern.Matches(pattern, action + "q")));
    }

    [Fact]
    public void Star_patterns_match_as_a_regular_expression_would()
    {
        var random = new Random(7);
        for (var i = 0; i < 5_000; i++)
        {
            var pattern = new string([.. Enumerable.Range(0, random.Next(0, 7)).Select(_ => "ab*"[random.Next(3)])]);
            var action = new string([.. Enumerable.Range(0, random.Next(0, 7)).Select(_ => "ab"[random.Next(2)])]);
            var regex = "^" + string.Concat(pattern.Select(c => c == '*' ? ".*" : c.ToString())) + "$";
            Assert.True(System.Text.RegularExpressions.Regex.IsMatch(action, regex) == ActionPattern.Matches(pattern, action), $"{pattern} vs {action}");
        }
    }

    [Fact]
    public void Unknown_names_are_not_privileges_but_cluster_patterns_are()
    {
        Assert.False(ClusterPrivileges.IsValid("superpowers"));
        Assert.True(ClusterPrivileges.IsValid("monitor_ml"));
        Assert.True(ClusterPrivileges.IsValid("cluster:monitor/xpack/ml/*"));
        Assert.False(ClusterPrivileges.Grants("superpowers", "cluster:monitor/main"));
    }
}
