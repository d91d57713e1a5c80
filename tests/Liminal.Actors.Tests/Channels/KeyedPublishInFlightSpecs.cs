using Akka.Actor;
using Liminal.Actors.Channels;
using Liminal.Actors.Tests.TestSupport;
using static Liminal.Actors.Tests.TestSupport.ChannelReading;

namespace Liminal.Actors.Tests.Channels;

/// <summary>
/// SPEC §2.4 steps 2 and 5 on SQLite on disk, with the partition's journal write held in flight by
/// <see cref="Withholding"/>: a duplicate of a key being written waits for that write and gets its answer; a write that
/// fails (stored or not) fails the publish, and a retry of the key finds the stored message or writes it once.
/// </summary>
public sealed class KeyedPublishInFlightSpecs() : LiminalTestKit(TestDatabase.NewPath(),
    // The breaker never gives up here: the test alone decides when and how the held write ends.
    Withholding.JournalConfig<WithholdingSqliteJournal>(TimeSpan.FromSeconds(60)))
{
    private const string Channel = "orders";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private LiminalBus StartBus() => LiminalBus.Start(Sys, DefaultSettings with
    {
        Channels = [new ChannelDefinition(Channel, Durable: true)],
        Entities = DefaultSettings.Entities with { MinBackoff = TimeSpan.FromMilliseconds(50) },
    });

    /// <summary>A bus whose partition has stored one message (position 1) and a subscriber that got it.</summary>
    private (LiminalBus Bus, Akka.TestKit.TestProbe Subscriber) StartWarmedUp()
    {
        var bus = StartBus();
        var subscriber = CreateTestProbe();
        Ask<Subscribed>(bus.Channels, new Subscribe(Channel, subscriber.Ref));
        Assert.Equal(1, Ask<PublishAck>(bus.Channels, Keyed(Channel, "warm-up")).SequenceNr);
        Assert.Equal("warm-up", KeyOf(subscriber.ExpectMsg<Delivery>()));
        return (bus, subscriber);
    }

    /// <summary>
    /// Publishes <paramref name="key"/> from <paramref name="original"/>, and once its write is held in the journal, the
    /// same key from <paramref name="duplicate"/>; the write is released only after the channel has routed the duplicate
    /// (a subscribe sent after it is answered), so the duplicate reaches the partition while the write is in flight.
    /// </summary>
    private async Task PublishDuplicateWhileHeldAsync(LiminalBus bus, Withholding withheld, string key, IActorRef original, IActorRef duplicate,
        Akka.TestKit.TestProbe subscriber)
    {
        bus.Channels.Tell(Keyed(Channel, key, n: 1), original);
        await withheld.Stored.Task.WaitAsync(Patience);
        bus.Channels.Tell(Keyed(Channel, key, n: 2), duplicate);
        Ask<Subscribed>(bus.Channels, new Subscribe(Channel, subscriber.Ref));
        withheld.Release.SetResult();
    }

    [Fact]
    public async Task A_duplicate_sent_while_the_original_is_being_written_gets_the_originals_answer_and_is_never_delivered()
    {
        var (bus, subscriber) = StartWarmedUp();
        var withheld = Withholding.Arm(Sys, $"channel-{Channel}-", WithheldOutcome.Stored);
        var (original, duplicate) = (CreateTestProbe(), CreateTestProbe());

        await PublishDuplicateWhileHeldAsync(bus, withheld, "k1", original.Ref, duplicate.Ref, subscriber);

        var first = original.ExpectMsg<PublishAck>(Patience);
        var second = duplicate.ExpectMsg<PublishAck>(Patience);
        Assert.Equal((2L, false, true, 1), (first.SequenceNr, first.Duplicate, first.Delivered, first.DeliveredCount));
        Assert.Equal(
            (first.Partition, 2L, true, false, 0, false),
            (second.Partition, second.SequenceNr, second.Duplicate, second.Delivered, second.DeliveredCount, second.InFlight));
        Assert.Equal(first.Receipt, second.Receipt);
        var log = this.ReadLog(Sys, bus.Channels, Channel, 0);
        Assert.Equal(["warm-up", "k1"], log.Select(KeyOf));
        Assert.Equal(1, NumberOf(log[1]));   // the original's message, not the duplicate's
        Assert.Equal(["k1"], this.DeliveredSoFar(Sys, bus.Channels, Channel, 1, subscriber).Single().Select(KeyOf));
    }

    [Theory]
    [InlineData(WithheldOutcome.Failed)]
    [InlineData(WithheldOutcome.StoredThenFailed)]
    public async Task When_the_held_write_fails_the_original_and_its_waiting_duplicate_both_fail_and_a_retry_leaves_the_key_stored_once(
        WithheldOutcome outcome)
    {
        var (bus, subscriber) = StartWarmedUp();
        var withheld = Withholding.Arm(Sys, $"channel-{Channel}-", outcome);
        var (original, duplicate) = (CreateTestProbe(), CreateTestProbe());

        await PublishDuplicateWhileHeldAsync(bus, withheld, "k1", original.Ref, duplicate.Ref, subscriber);

        Assert.Equal(PublishFailure.PersistFailed, original.ExpectMsg<PublishRejected>(Patience).Reason);
        Assert.Equal(PublishFailure.PersistFailed, duplicate.ExpectMsg<PublishRejected>(Patience).Reason);

        // The publisher retries, as SPEC §2.4 step 5 tells it to.
        var retry = ExpectRetryAnswered(bus, "k1");
        Assert.Equal((2L, false), (retry.SequenceNr, retry.InFlight));
        Assert.Equal(["warm-up", "k1"], this.ReadLog(Sys, bus.Channels, Channel, 0).Select(KeyOf));
        Assert.Equal(retry with { Delivered = false, DeliveredCount = 0, Duplicate = true }, ExpectRetryAnswered(bus, "k1"));
        var delivered = this.DeliveredSoFar(Sys, bus.Channels, Channel, 1, subscriber).Single().Select(KeyOf).ToList();
        if (outcome == WithheldOutcome.Failed)
        {
            // Nothing was stored: the retry writes it, and it is delivered now, once.
            Assert.Equal((false, true, 1), (retry.Duplicate, retry.Delivered, retry.DeliveredCount));
            Assert.Equal(["k1"], delivered);
        }
        else
        {
            // It was stored although the journal said it failed: the retry finds it.
            Assert.Equal((true, false, 0), (retry.Duplicate, retry.Delivered, retry.DeliveredCount));
            Assert.True(delivered.Count <= 1, $"k1 was delivered {delivered.Count} times");
        }
    }

    [Theory]
    [InlineData(WithheldOutcome.Failed)]
    [InlineData(WithheldOutcome.StoredThenFailed)]
    public void A_journal_fault_fails_the_publish_as_PersistFailed_and_the_retry_of_its_key_stores_it_exactly_once(WithheldOutcome outcome)
    {
        var (bus, subscriber) = StartWarmedUp();
        var withheld = Withholding.Arm(Sys, $"channel-{Channel}-", outcome);
        withheld.Release.SetResult();   // the write fails at once

        var rejected = Ask<PublishRejected>(bus.Channels, Keyed(Channel, "k1"));
        Assert.Equal((Channel, PublishFailure.PersistFailed), (rejected.Channel, rejected.Reason));

        var retry = ExpectRetryAnswered(bus, "k1");
        Assert.Equal((2L, outcome == WithheldOutcome.StoredThenFailed), (retry.SequenceNr, retry.Duplicate));
        var next = Ask<PublishAck>(bus.Channels, Keyed(Channel, "k2"));
        Assert.Equal(3, next.SequenceNr);
        Assert.Equal(["warm-up", "k1", "k2"], this.ReadLog(Sys, bus.Channels, Channel, 0).Select(KeyOf));
        var delivered = this.DeliveredSoFar(Sys, bus.Channels, Channel, 1, subscriber).Single().Select(KeyOf).ToList();
        if (outcome == WithheldOutcome.Failed)
            Assert.Equal(["k1", "k2"], delivered);
        else   // stored, its fan-out unknown: at most once
            Assert.Contains(string.Join(",", delivered), new[] { "k2", "k1,k2" });
    }

    /// <summary>A retry of <paramref name="key"/> (after a failure the partition may still be restarting: it is answered once it is back).</summary>
    private PublishAck ExpectRetryAnswered(LiminalBus bus, string key)
    {
        var probe = CreateTestProbe();
        bus.Channels.Tell(Keyed(Channel, key, n: 3), probe.Ref);
        return probe.ExpectMsg<PublishAck>(Patience);
    }
}
