using Akka.Actor;
using Liminal.Actors.Channels;
using Liminal.Actors.Tests.TestSupport;

namespace Liminal.Actors.Tests.Channels;

/// <summary>Journal faults on the channel write, injected by Akka.Persistence.TestKit's journal.</summary>
public sealed class ChannelJournalFaultSpecs : FaultInjectionTestKit
{
    private LiminalBus StartBus() =>
        LiminalBus.Start(Sys, DefaultSettings with
        {
            Channels = [new ChannelDefinition("orders", Durable: true)],
            Entities = DefaultSettings.Entities with { MinBackoff = TimeSpan.FromMilliseconds(50) },
        });

    private static Publish Keyed(string key) => new("orders", new MessageEnvelope("""{"orderId":"o1"}"""u8.ToArray(), "shop"), key);

    [Fact]
    public async Task A_failed_channel_write_rejects_with_the_original_error_and_a_retry_is_stored_and_delivered_once()
    {
        var bus = StartBus();
        var subscriber = CreateTestProbe();
        Ask<Subscribed>(bus.Channels, new Subscribe("orders", subscriber.Ref));

        await Journal.OnWrite.FailIf(write => write.PersistenceId.StartsWith("channel-"));
        var rejected = Ask<PublishRejected>(bus.Channels, Keyed("k1"));
        Assert.Equal(PublishFailure.PersistFailed, rejected.Reason);
        Assert.Contains("journal write failed", rejected.Detail);
        subscriber.ExpectNoMsg(TimeSpan.FromMilliseconds(300));

        await Journal.OnWrite.Pass();
        var ack = Ask<PublishAck>(bus.Channels, Keyed("k1"));
        Assert.True(ack.Delivered);
        subscriber.ExpectMsg<Delivery>();
        Assert.True(Ask<PublishAck>(bus.Channels, Keyed("k1")).Duplicate);
        subscriber.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
    }
}
