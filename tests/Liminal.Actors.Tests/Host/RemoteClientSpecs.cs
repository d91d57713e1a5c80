using Liminal.Actors.Channels;
using Liminal.Actors.Dedup;
using Liminal.Actors.Tests.TestSupport;
using Liminal.Client;
using Liminal.Host;

namespace Liminal.Actors.Tests.Host;

/// <summary>Another actor system talks to the host over Akka.Remote: the README walk-through, as a spec.</summary>
public sealed class RemoteClientSpecs() : Akka.TestKit.Xunit2.TestKit(LiminalClient.ClientConfig())
{
    [Fact]
    public async Task A_remote_client_publishes_twice_with_one_key_and_its_subscriber_receives_once()
    {
        var remotePort = HostSpecs.FreePort();
        var configFile = Path.Combine(Path.GetTempPath(), $"liminal-{Guid.NewGuid():N}.conf");
        await File.WriteAllTextAsync(configFile, """liminal.channels = [ { name = "orders", durable = true } ]""");
        await using var host = LiminalHost.Build([
            "--config", configFile,
            "--liminal:journal:sqlite-path", TestDatabase.NewPath(),
            "--liminal:host:health-port", HostSpecs.FreePort().ToString(),
            "--liminal:host:remote:port", remotePort.ToString(),
            "--liminal:dedup:shards", "4",
        ]);
        await host.StartAsync();
        try
        {
            var bus = await LiminalClient.ConnectAsync(Sys, "127.0.0.1", remotePort);
            var subscriber = CreateTestProbe();
            bus.Channels.Tell(new Subscribe("orders", subscriber.Ref), TestActor);
            ExpectMsg<Subscribed>(TimeSpan.FromSeconds(10));

            var order = new MessageEnvelope("""{"orderId":"42"}"""u8.ToArray(), "remote-shop");
            bus.Channels.Tell(new Publish("orders", order, "order-42"), TestActor);
            var first = ExpectMsg<PublishAck>(TimeSpan.FromSeconds(10));
            bus.Channels.Tell(new Publish("orders", order, "order-42"), TestActor);
            var second = ExpectMsg<PublishAck>(TimeSpan.FromSeconds(10));

            Assert.Equal((false, true), (first.Duplicate, first.Delivered));
            Assert.Equal((true, false), (second.Duplicate, second.Delivered));
            Assert.Equal(order, subscriber.ExpectMsg<Delivery>(TimeSpan.FromSeconds(10)).Envelope);
            subscriber.ExpectNoMsg(TimeSpan.FromMilliseconds(500));
            // The duplicate's answer points at the original's stored message.
            Assert.Equal((first.SequenceNr, first.Receipt), (second.SequenceNr, second.Receipt));
        }
        finally
        {
            await host.StopAsync();
        }
    }
}
