using System.Reflection;
using TrainedModelsOrleans.Runtime.MembershipService;
using TrainedModelsOrleans.Runtime.Proxies;
using Xunit;

namespace TrainedModelsOrleans.Runtime.Tests;

public sealed class MembershipViewTests
{
    private static SiloEntry Entry(string name, long generation, string status, string address = "127.0.0.1:1", int secondsAgo = 0) =>
        new(name, generation, address, address, status, 2, 1L << 30, DateTimeOffset.UtcNow, DateTimeOffset.UtcNow.AddSeconds(-secondsAgo));

    [Fact]
    public void A_silo_name_maps_to_its_newest_live_generation_only()
    {
        var view = new MembershipView([Entry("a", 1, SiloStatus.Dead), Entry("a", 2, SiloStatus.Active), Entry("b", 5, SiloStatus.ShuttingDown), Entry("c", 1, SiloStatus.Dead), Entry("d", 1, SiloStatus.Joining)]);

        Assert.True(view.TryGetAlive("a", out var a));
        Assert.Equal(2, a.Generation);
        Assert.False(view.IsAlive("a", 1));
        Assert.True(view.IsAlive("b", 5));
        Assert.False(view.TryGetAlive("c", out _));
        Assert.False(view.TryGetAlive("d", out _)); // joining: not routable yet
        Assert.Equal(["a", "b"], view.Alive.Select(e => e.SiloId).Order());
    }

    [Fact]
    public void Heartbeats_do_not_change_the_signature_but_status_generation_and_address_do()
    {
        var before = new MembershipView([Entry("a", 1, SiloStatus.Active, secondsAgo: 3)]).Signature();

        Assert.Equal(before, new MembershipView([Entry("a", 1, SiloStatus.Active, secondsAgo: 0)]).Signature());
        Assert.NotEqual(before, new MembershipView([Entry("a", 1, SiloStatus.ShuttingDown)]).Signature());
        Assert.NotEqual(before, new MembershipView([Entry("a", 2, SiloStatus.Active)]).Signature());
        Assert.NotEqual(before, new MembershipView([Entry("a", 1, SiloStatus.Active, address: "127.0.0.1:2")]).Signature());
        Assert.Equal("", new MembershipView([Entry("a", 1, SiloStatus.Dead)]).Signature());
    }

    private interface IOverloads : IGrainWithStringKey
    {
        Task Put(string id, byte[] body);
        Task Put(string id, IReadOnlyDictionary<string, string?> query);
        Task<int[][]> Get(List<int>? values);
    }

    [Fact]
    public void Method_keys_tell_overloads_apart_and_spell_out_generic_and_array_types()
    {
        var methods = typeof(IOverloads).GetMethods();
        var keys = methods.Select(GrainMethodKey.Of).ToArray();

        Assert.Equal(keys.Length, keys.Distinct().Count());
        Assert.Contains("IOverloads.Put(String,Byte[])", keys);
        Assert.Contains("IOverloads.Put(String,IReadOnlyDictionary<String,String>)", keys);
        Assert.Contains("IOverloads.Get(List<Int32>)", keys);
        Assert.Equal(typeof(int[][]), GrainMethodKey.ResultTypeOf(typeof(IOverloads).GetMethod(nameof(IOverloads.Get))!));
        Assert.Null(GrainMethodKey.ResultTypeOf(methods.First(m => m.Name == "Put")));
    }
}
