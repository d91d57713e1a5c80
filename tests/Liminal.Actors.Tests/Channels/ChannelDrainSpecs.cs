using Akka.Actor;
using Liminal.Actors.Channels;
using Liminal.Actors.Tests.TestSupport;

namespace Liminal.Actors.Tests.Channels;

/// <summary>Graceful shutdown: publishes in flight finish and are acknowledged, later ones are refused.</summary>
public sealed class ChannelDrainSpecs : FaultInjectionTestKit
{
    [Fact]
    public async Task Draining_acknowledges_the_publishes_in_flight_and_rejects_new_ones_as_shutting_down()
    {
        var bus = LiminalBus.Start(Sys, DefaultSettings with { DedupShards = 1, Channels = [new ChannelDefinition("orders", Durable: true)] });
        Ask<PublishAck>(bus.Channels, new Publish("orders", new MessageEnvelope("{}"u8.ToArray(), "warm-up")));
        // Every journal write now takes a while, so these publishes are still in flight when the drain starts.
        await Journal.OnWrite.PassWithDelay(TimeSpan.FromMilliseconds(500));
        var publishers = Enumerable.Range(0, 3).Select(_ => CreateTestProbe()).ToList();
        foreach (var (publisher, i) in publishers.Select((p, i) => (p, i)))
            bus.Channels.Tell(new Publish("orders", new MessageEnvelope("{}"u8.ToArray(), "shop"), $"k{i}"), publisher.Ref);

        var drainer = CreateTestProbe();
        bus.Channels.Tell(DrainPublishes.Instance, drainer.Ref);
        var late = Ask<PublishRejected>(bus.Channels, new Publish("orders", new MessageEnvelope("{}"u8.ToArray(), "shop"), "late"));

        Assert.Equal(PublishFailure.ShuttingDown, late.Reason);
        foreach (var publisher in publishers)
            Assert.False(publisher.ExpectMsg<PublishAck>(TimeSpan.FromSeconds(10)).Duplicate);
        drainer.ExpectMsg<Drained>(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Coordinated_shutdown_drains_publishes_before_the_actors_stop()
    {
        var bus = LiminalBus.Start(Sys, DefaultSettings with { DedupShards = 1, Channels = [new ChannelDefinition("orders", Durable: true)] });
        Ask<PublishAck>(bus.Channels, new Publish("orders", new MessageEnvelope("{}"u8.ToArray(), "warm-up")));
        await Journal.OnWrite.PassWithDelay(TimeSpan.FromMilliseconds(500));
        var publisher = CreateTestProbe();
        bus.Channels.Tell(new Publish("orders", new MessageEnvelope("{}"u8.ToArray(), "shop"), "in-flight"), publisher.Ref);

        var shutdown = CoordinatedShutdown.Get(Sys).Run(CoordinatedShutdown.ClrExitReason.Instance);

        Assert.IsType<PublishAck>(publisher.ExpectMsg<object>(TimeSpan.FromSeconds(10)));
        await shutdown.WaitAsync(TimeSpan.FromSeconds(30));
    }
}
