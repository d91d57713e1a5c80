using Akka.Actor;
using Liminal.Actors.Channels;
using Liminal.Actors.Dedup;
using Liminal.Actors.Tests.TestSupport;

namespace Liminal.Actors.Tests.Channels;

/// <summary>Journal faults on the channel write, injected by Akka.Persistence.TestKit's journal.</summary>
public sealed class ChannelJournalFaultSpecs : FaultInjectionTestKit
{
    private LiminalBus StartBus() =>
        LiminalBus.Start(Sys, DefaultSettings with
        {
            DedupShards = 1,
            Channels = [new ChannelDefinition("orders", Durable: true)],
            Entities = DefaultSettings.Entities with { MinBackoff = TimeSpan.FromMilliseconds(50) },
        });

    private static Publish Keyed(string key) => new("orders", new MessageEnvelope("""{"orderId":"o1"}"""u8.ToArray(), "shop"), key);

    [Fact]
    public async Task A_failed_channel_write_rejects_with_the_original_error_releases_the_key_and_a_retry_is_delivered_once()
    {
        var bus = StartBus();
        var subscriber = CreateTestProbe();
        Ask<Subscribed>(bus.Channels, new Subscribe("orders", subscriber.Ref));

        await Journal.OnWrite.FailIf(write => write.PersistenceId.StartsWith("channel-"));
        var rejected = Ask<PublishRejected>(bus.Channels, Keyed("k1"));
        Assert.Equal(PublishFailure.PersistFailed, rejected.Reason);
        Assert.Contains("journal write failed", rejected.Detail);
        subscriber.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        AwaitAssert(() => Assert.Null(Ask<KeyStatus>(bus.Dedup, new LookupKey("k1")).Decision));

        await Journal.OnWrite.Pass();
        var ack = Ask<PublishAck>(bus.Channels, Keyed("k1"));
        Assert.True(ack.Delivered);
        subscriber.ExpectMsg<Delivery>();
        Assert.True(Ask<PublishAck>(bus.Channels, Keyed("k1")).Duplicate);
        subscriber.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public async Task A_fault_in_the_release_too_still_returns_the_original_error_and_the_release_is_retried_until_the_key_is_free()
    {
        var bus = StartBus();
        var subscriber = CreateTestProbe();
        Ask<Subscribed>(bus.Channels, new Subscribe("orders", subscriber.Ref));

        await Journal.OnWrite.FailIf(write => write.PersistenceId.StartsWith("channel-") || write.Payload is KeyReleased);
        var rejected = Ask<PublishRejected>(bus.Channels, Keyed("k1"));

        Assert.Equal(PublishFailure.PersistFailed, rejected.Reason);
        Assert.Contains("journal write failed", rejected.Detail);
        subscriber.ExpectNoMsg(TimeSpan.FromMilliseconds(200));

        // Once the journal is back the release goes through: until then a retry is told the key is in flight and
        // nothing is written; then the retry stores k1 and delivers it, once.
        await Journal.OnWrite.Pass();
        PublishAck retry = null!;
        AwaitAssert(() =>
        {
            retry = Ask<PublishAck>(bus.Channels, Keyed("k1"));
            Assert.False(retry.InFlight, "the key stayed in flight");
        }, TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(100));
        Assert.False(retry.Duplicate);
        Assert.True(retry.Delivered);
        subscriber.ExpectMsg<Delivery>();
        Assert.True(Ask<PublishAck>(bus.Channels, Keyed("k1")).Duplicate);
        subscriber.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public async Task A_receipt_that_cannot_be_stored_after_delivery_still_acks_and_is_retried_until_stored()
    {
        var bus = StartBus();
        var subscriber = CreateTestProbe();
        Ask<Subscribed>(bus.Channels, new Subscribe("orders", subscriber.Ref));

        await Journal.OnWrite.FailIf(write => write.Payload is KeyCompleted);
        var ack = Ask<PublishAck>(bus.Channels, Keyed("k1"));
        Assert.True(ack.Delivered);
        subscriber.ExpectMsg<Delivery>();

        await Journal.OnWrite.Pass();
        // The key does not stay in flight: the retried receipt lands, and the key answers with it.
        AwaitAssert(() => Assert.Equal(new DedupDecision.Completed(ack.Receipt!), Ask<KeyStatus>(bus.Dedup, new LookupKey("k1")).Decision),
            TimeSpan.FromSeconds(15), TimeSpan.FromMilliseconds(200));
        Assert.True(Ask<PublishAck>(bus.Channels, Keyed("k1")).Duplicate);
        subscriber.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
    }
}
