using System.Net;
using Microsoft.Extensions.Configuration;
using TrainedModelsOrleans.Silo;
using TrainedModelsOrleans.TestSupport;
using Xunit;

namespace TrainedModelsOrleans.Api.Tests.Security;

/// <summary>The unauthenticated Orleans ports stay on loopback unless Node:TransportHost opens them, whatever Urls says.</summary>
public sealed class TransportBindingTests
{
    private static NodeSettings Settings(params (string Key, string Value)[] values) => NodeSettings.From(new ConfigurationBuilder()
        .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))
            .Append(new("DataDirectory", TestRunDirectory.CreateScratchDirectory("binding"))))
        .Build());

    [Theory]
    [InlineData(null)]
    [InlineData("http://127.0.0.1:9200")]
    [InlineData("http://0.0.0.0:9200")]
    [InlineData("http://10.1.2.3:9200")]
    public void Silo_and_gateway_ports_listen_on_loopback_by_default(string? urls)
    {
        var settings = urls is null ? Settings() : Settings(("Urls", urls));
        Assert.Equal(IPAddress.Loopback, settings.AdvertisedAddress);
    }

    [Fact]
    public void Node_transport_host_opens_them_on_the_address_given() =>
        Assert.Equal(IPAddress.Parse("10.1.2.3"), Settings(("Node:TransportHost", "10.1.2.3")).AdvertisedAddress);
}
