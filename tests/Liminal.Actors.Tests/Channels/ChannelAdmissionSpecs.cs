using System.Text;
using Akka.Configuration;
using Liminal.Actors.Channels;
using Liminal.Actors.Tests.Attacks;
using Liminal.Actors.Tests.TestSupport;

namespace Liminal.Actors.Tests.Channels;

/// <summary>
/// Admission control (issue 13): a partition takes on at most <c>liminal.channel-limits.max-publishes-in-flight</c>
/// publishes at once; beyond it a publish is refused with <c>PublishRejected(Overloaded)</c> at once, so neither a
/// flood nor a stalled journal grows the bus without bound. On f8113fc every publish was taken on and held until its
/// write completed, however many. The flood of 100,000 runs on SQLite: <see cref="ChannelFloodSpecs"/>.
/// </summary>
public sealed class ChannelAdmissionSpecs() : FaultInjectionTestKit(StalledJournal)
{
    // A write or a replay held at the journal for as long as a spec needs, not failed by the journal's circuit breaker
    // or the recovery timeout meanwhile.
    private static readonly Config StalledJournal = ConfigurationFactory.ParseString("""
        akka.persistence.journal.test.circuit-breaker.call-timeout = 300s
        akka.persistence.journal.test.recovery-event-timeout = 300s
        """);

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    private static Publish Message(string publisherId, int n) =>
        new("orders", new MessageEnvelope(Encoding.UTF8.GetBytes($$"""{"n":{{n}}}"""), publisherId));

    private LiminalBus StartBus(int maxPublishesInFlight) => LiminalBus.Start(Sys, DefaultSettings with
    {
        Channels = [new ChannelDefinition("orders", Durable: true)],
        ChannelMaxPublishesInFlight = maxPublishesInFlight,
    });

    [Fact]
    public async Task Publishes_beyond_the_partitions_bound_are_refused_Overloaded_at_once_and_taken_again_once_its_writes_complete()
    {
        var bus = StartBus(maxPublishesInFlight: 3);
        Ask<PublishAck>(bus.Channels, Message("warm-up", 0));
        var held = new HeldJournalMessage(m => m.Payload is MessageAppended { PublisherId: "held" });
        await Journal.OnWrite.SetInterceptorAsync(held);

        var producer = CreateTestProbe();
        bus.Channels.Tell(Message("held", 1), producer.Ref);
        await held.Held.Task.WaitAsync(Patience);
        for (var n = 2; n <= 6; n++)
            bus.Channels.Tell(Message("producer", n), producer.Ref);

        // 1 is being written and 2 and 3 wait for the next write: three in flight. 4, 5 and 6 are refused while the
        // write is still held, so without waiting for it.
        for (var i = 0; i < 3; i++)
            Assert.Equal(PublishFailure.Overloaded, producer.ExpectMsg<PublishRejected>(Patience).Reason);
        held.Release();
        Assert.Equal([2L, 3L, 4L], Enumerable.Range(0, 3).Select(_ => producer.ExpectMsg<PublishAck>(Patience).SequenceNr!.Value));

        // Its writes are durable: the partition takes publishes again.
        Assert.Equal(5, Ask<PublishAck>(bus.Channels, Message("producer", 7)).SequenceNr);
    }

    [Fact]
    public async Task A_partition_recovering_after_a_failure_is_handed_no_more_than_the_buffer_and_the_rest_is_refused_Overloaded_at_once()
    {
        const int BufferSize = 5;
        var bus = LiminalBus.Start(Sys, DefaultSettings with
        {
            Channels = [new ChannelDefinition("orders", Durable: true)],
            ChannelMaxPublishesInFlight = 3,
            Entities = DefaultSettings.Entities with { MinBackoff = TimeSpan.FromMilliseconds(50), BufferSize = BufferSize },
        });
        Ask<PublishAck>(bus.Channels, Message("warm-up", 0));
        // A write fails (outcome unknown): the partition stops, is recreated, and its replay stalls (a slow journal).
        var recovery = new HeldJournalMessage(m => m.PersistenceId == ChannelPartition.PersistenceIdOf("orders", 0));
        await Journal.OnRecovery.SetInterceptorAsync(recovery);
        var failing = new GatedFirstWrite(p => p is MessageAppended { PublisherId: "failing" }, reject: false);
        failing.Gate.SetResult();
        await Journal.OnWrite.SetInterceptorAsync(failing);
        Assert.Equal(PublishFailure.PersistFailed, Ask<PublishRejected>(bus.Channels, Message("failing", 1)).Reason);
        await recovery.Held.Task.WaitAsync(Patience);

        const int Sent = 200;
        var producer = CreateTestProbe();
        for (var n = 1; n <= Sent; n++)
            bus.Channels.Tell(Message("producer", n), producer.Ref);

        // Until it has recovered, a partition takes nothing from its mailbox: beyond the buffer, each publish is refused
        // while the replay is still stalled, instead of piling up in the recovering partition's stash without bound.
        Assert.All(producer.ReceiveN(Sent - BufferSize, Patience),
            reply => Assert.Equal(PublishFailure.Overloaded, Assert.IsType<PublishRejected>(reply).Reason));
        recovery.Release();
        var last = producer.ReceiveN(BufferSize, Patience);
        Assert.All(last, reply => Assert.True(reply is PublishAck or PublishRejected { Reason: PublishFailure.Overloaded }, $"{reply}"));
        Assert.Equal([2L, 3L, 4L], last.OfType<PublishAck>().Select(ack => ack.SequenceNr!.Value));
        Assert.Equal(5, Ask<PublishAck>(bus.Channels, Message("after", 0)).SequenceNr);
    }
}
