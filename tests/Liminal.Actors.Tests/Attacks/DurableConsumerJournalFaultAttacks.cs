using System.Text;
using Liminal.Actors.Channels;
using Liminal.Actors.Consumers;
using Liminal.Actors.Persistence;
using Liminal.Actors.Tests.TestSupport;
using MessageEnvelope = Liminal.Actors.Channels.MessageEnvelope;

namespace Liminal.Actors.Tests.Attacks;

/// <summary>
/// Journal faults under a durable consumer (SPEC §2.6), on SQLite: a channel write stored but reported failed (its
/// partition restarts), a consumer's ack write stored but reported failed, and one not stored (the consumer restarts).
/// </summary>
public sealed class DurableConsumerJournalFaultAttacks() : LiminalTestKit(
    Withholding.JournalConfig<WithholdingSqliteJournal>(TimeSpan.FromSeconds(30)).WithFallback(SqlJournalConfig.Sqlite(TestDatabase.NewPath())))
{
    private LiminalSettings Settings => DefaultSettings with
    {
        Channels = [new ChannelDefinition("orders", Durable: true)],
        Entities = DefaultSettings.Entities with { MinBackoff = TimeSpan.FromMilliseconds(50) },
    };

    private static Publish Order(int n) => new("orders", new MessageEnvelope(Encoding.UTF8.GetBytes($"{{\"n\":{n}}}"), "shop"));

    [Fact]
    public async Task A_message_stored_by_a_write_reported_failed_reaches_the_consumer_once_after_its_partition_restarts()
    {
        var bus = LiminalBus.Start(Sys, Settings);
        var member = CreateTestProbe();
        Ask<ConsumerSubscribed>(bus.Channels, new SubscribeDurable("orders", "billing", member.Ref, new ConsumerOptions()));
        Ask<PublishAck>(bus.Channels, Order(1));
        Assert.Equal(1L, member.ExpectMsg<Delivery>().SequenceNr);

        var withheld = Withholding.Arm(Sys, ChannelPartition.PersistenceIdOf("orders", 0), WithheldOutcome.StoredThenFailed);
        bus.Channels.Tell(Order(2), TestActor);
        await withheld.Stored.Task.WaitAsync(TimeSpan.FromSeconds(30));
        withheld.Release.TrySetResult();
        Assert.Equal(PublishFailure.PersistFailed, ExpectMsg<PublishRejected>(TimeSpan.FromSeconds(30)).Reason);

        // Stored although its publisher was told it failed: the consumer reads it from the log, once.
        var stored = member.ExpectMsg<Delivery>(TimeSpan.FromSeconds(30));
        Assert.Equal((2L, 1), (stored.SequenceNr!.Value, stored.Attempt));
        AwaitAssert(() => Assert.Equal(3L, Ask<PublishAck>(bus.Channels, Order(3)).SequenceNr), TimeSpan.FromSeconds(30));
        Assert.Equal(3L, member.ExpectMsg<Delivery>(TimeSpan.FromSeconds(30)).SequenceNr);
        member.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
    }

    [Theory]
    [InlineData(WithheldOutcome.StoredThenFailed)]
    [InlineData(WithheldOutcome.Failed)]
    public async Task An_ack_whose_write_fails_is_rejected_and_the_message_is_delivered_again_only_if_the_ack_was_not_stored(WithheldOutcome outcome)
    {
        var bus = LiminalBus.Start(Sys, Settings);
        var member = CreateTestProbe();
        Ask<ConsumerSubscribed>(bus.Channels, new SubscribeDurable("orders", "billing", member.Ref, new ConsumerOptions()));
        Ask<PublishAck>(bus.Channels, Order(1));
        Assert.Equal(1L, member.ExpectMsg<Delivery>().SequenceNr);

        var withheld = Withholding.Arm(Sys, ConsumerPartition.PersistenceIdOf("orders", "billing", 0), outcome);
        bus.Channels.Tell(new Ack("orders", "billing", 0, 1), TestActor);
        await withheld.Stored.Task.WaitAsync(TimeSpan.FromSeconds(30));
        withheld.Release.TrySetResult();
        Assert.Equal(1L, ExpectMsg<AckRejected>(TimeSpan.FromSeconds(30)).SequenceNr);

        if (outcome == WithheldOutcome.Failed)
        {
            // Not stored: the restarted consumer sends it again, and its ack is answered.
            var again = member.ExpectMsg<Delivery>(TimeSpan.FromSeconds(30));
            Assert.Equal(1L, again.SequenceNr);
        }
        AwaitAssert(() => Assert.Equal(new Acked("orders", "billing", 0, 1), Ask<Acked>(bus.Channels, new Ack("orders", "billing", 0, 1))),
            TimeSpan.FromSeconds(30));
        Ask<PublishAck>(bus.Channels, Order(2));
        Assert.Equal(2L, member.ExpectMsg<Delivery>(TimeSpan.FromSeconds(30)).SequenceNr);
        member.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        Assert.Equal(1L, Ask<ConsumerInfo>(bus.Channels, new GetConsumerInfo("orders", "billing")).Partitions[0].AckFloor);
    }
}
