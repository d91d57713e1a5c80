using Akka.Persistence;
using Akka.Persistence.TestKit;
using Liminal.Actors.Channels;
using Liminal.Actors.Tests.TestSupport;

namespace Liminal.Actors.Tests.Attacks;

/// <summary>
/// SPEC §2.4 step 5: a write whose outcome is unknown is never treated as "not written", and "a retry with the same
/// key finds the stored message (duplicate ack) or writes it once". Step 2: a duplicate of a key still being written
/// waits for that write and gets the same duplicate ack (<c>InFlight</c> is always false on this path).
/// </summary>
public sealed class PublishSagaAttacks : FaultInjectionTestKit
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private LiminalBus StartBus() =>
        LiminalBus.Start(Sys, DefaultSettings with
        {
            DedupShards = 1,
            Channels = [new ChannelDefinition("orders", Durable: true)],
            Entities = DefaultSettings.Entities with { MinBackoff = TimeSpan.FromMilliseconds(50) },
        });

    private static Publish Keyed(string key) => new("orders", new MessageEnvelope("""{"orderId":"o1"}"""u8.ToArray(), "shop"), key);

    [Fact]
    public async Task A_retry_of_a_key_whose_failed_append_could_not_be_resolved_writes_the_message_once()
    {
        var bus = StartBus();
        var subscriber = CreateTestProbe();
        Ask<Subscribed>(bus.Channels, new Subscribe("orders", subscriber.Ref));
        Assert.Equal(1, Ask<PublishAck>(bus.Channels, Keyed("warm-up")).SequenceNr);
        subscriber.ExpectMsg<Delivery>();

        // The append of k1 fails (the test journal throws before storing it: it is NOT stored), and the partition's
        // log cannot be read while the saga asks whether it was.
        var gated = new GatedFirstWrite(p => p is MessageAppended, reject: false);
        await Journal.OnWrite.SetInterceptorAsync(gated);
        await Journal.OnRecovery.SetInterceptorAsync(new FailReplayOf<MessageAppended>());
        bus.Channels.Tell(Keyed("k1"), TestActor);
        await gated.Held.Task.WaitAsync(Patience);
        gated.Gate.SetResult();
        var first = ExpectMsg<PublishRejected>(Patience);
        Assert.Equal(PublishFailure.PersistFailed, first.Reason);
        Assert.Contains("could not be read", first.Detail);

        // The fault is gone. The publisher retries k1, as SPEC §2.4 step 5 tells it to.
        await Journal.OnWrite.Pass();
        await Journal.OnRecovery.Pass();
        // Until the saga has read the log again, a retry is told the key is in flight (nothing is written for it).
        PublishAck ack = null!;
        AwaitAssert(() =>
        {
            ack = Ask<PublishAck>(bus.Channels, Keyed("k1"));
            Assert.False(ack.InFlight, "the key stayed in flight");
        }, Patience, TimeSpan.FromMilliseconds(100));

        // Nothing of k1 is stored, so the retry must write it (once) and deliver it.
        Assert.False(ack.Duplicate, $"retry answered {ack} although k1 was never stored");
        Assert.Equal(2, ack.SequenceNr);
        subscriber.ExpectMsg<Delivery>(Patience);
    }

    /// <summary>Fails any replay that reaches a payload of type <typeparamref name="T"/> (a log that cannot be read).</summary>
    private sealed class FailReplayOf<T> : IJournalInterceptor
    {
        public Task InterceptAsync(IPersistentRepresentation message) =>
            message.Payload is T ? throw new TestJournalFailureException("attack: the log cannot be read") : Task.CompletedTask;
    }
}
