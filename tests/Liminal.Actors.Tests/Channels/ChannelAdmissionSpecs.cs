using System.Diagnostics;
using System.Text;
using Akka.Configuration;
using Liminal.Actors.Channels;
using Liminal.Actors.Tests.Attacks;
using Liminal.Actors.Tests.TestSupport;
using Xunit.Abstractions;

namespace Liminal.Actors.Tests.Channels;

/// <summary>
/// Admission control (issue 13): a partition takes on at most <c>liminal.channel-limits.max-publishes-in-flight</c>
/// publishes at once; beyond it a publish is refused with <c>PublishRejected(Overloaded)</c> at once, so neither a
/// flood nor a stalled journal grows the bus without bound. On f8113fc every publish was taken on and held until its
/// write completed, however many.
/// </summary>
public sealed class ChannelAdmissionSpecs(ITestOutputHelper output) : FaultInjectionTestKit(StalledJournal)
{
    // A write held at the journal for as long as a spec needs, not failed by the journal's circuit breaker meanwhile.
    private static readonly Config StalledJournal =
        ConfigurationFactory.ParseString("akka.persistence.journal.test.circuit-breaker.call-timeout = 300s");

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);
    private static readonly TimeSpan FloodPatience = TimeSpan.FromSeconds(60);

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
    public async Task A_flood_of_100000_publishes_sent_without_waiting_is_answered_with_an_ack_or_Overloaded_each()
    {
        const int Flood = 100_000;
        const int Bound = 10_000;   // the default of liminal.channel-limits.max-publishes-in-flight
        var bus = StartBus(Bound);
        Ask<PublishAck>(bus.Channels, Message("warm-up", 0));
        // The journal stalls on the flood's first write (a slow disk, a database failing over) until every publish is answered or taken on.
        var held = new HeldJournalMessage(m => m.Payload is MessageAppended { PublisherId: "flood" });
        await Journal.OnWrite.SetInterceptorAsync(held);
        PrintMemory("before the flood");

        var producer = CreateTestProbe();
        for (var n = 1; n <= Flood; n++)
            bus.Channels.Tell(Message("flood", n), producer.Ref);
        await held.Held.Task.WaitAsync(FloodPatience);

        var overloaded = 0;
        var acks = 0;
        var other = new List<object>();
        void Count(object reply)
        {
            if (reply is PublishRejected { Reason: PublishFailure.Overloaded })
                overloaded++;
            else if (reply is PublishAck)
                acks++;
            else
                other.Add(reply);
        }
        // Everything beyond the bound is answered while the journal is still stalled.
        foreach (var reply in producer.ReceiveN(Flood - Bound, FloodPatience))
            Count(reply);
        PrintMemory($"{Flood - Bound} answered, {Bound} in flight behind the stalled write");
        held.Release();
        foreach (var reply in producer.ReceiveN(Bound, FloodPatience))
            Count(reply);
        PrintMemory("every publish answered");

        Assert.Empty(other);
        Assert.Equal((Bound, Flood - Bound), (acks, overloaded));
    }

    private void PrintMemory(string when)
    {
        using var process = Process.GetCurrentProcess();
        output.WriteLine($"{when}: managed heap {GC.GetTotalMemory(forceFullCollection: true) / (1024 * 1024)} MiB, " +
                         $"working set {process.WorkingSet64 / (1024 * 1024)} MiB (peak {process.PeakWorkingSet64 / (1024 * 1024)} MiB)");
    }
}
