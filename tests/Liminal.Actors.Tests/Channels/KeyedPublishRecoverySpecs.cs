using System.Diagnostics;
using Akka.Actor;
using Liminal.Actors.Channels;
using Liminal.Actors.Tests.TestSupport;
using Xunit.Abstractions;
using static Liminal.Actors.Tests.TestSupport.ChannelReading;

namespace Liminal.Actors.Tests.Channels;

/// <summary>
/// SPEC §2.4 step 2, kill-and-recover on SQLite on disk: the partition that stores a message owns its key's dedup
/// window, rebuilt on recovery, so a key is a duplicate after a crash however far back in the log its message is.
/// </summary>
public sealed class KeyedPublishRecoverySpecs(ITestOutputHelper output) : LiminalTestKit(TestDatabase.NewPath(), CrashOnTerminate)
{
    private const string Channel = "orders";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    private LiminalSettings Settings => DefaultSettings with { Channels = [new ChannelDefinition(Channel, Durable: true)] };

    /// <summary>Behind K: unkeyed messages (K is the window's only key), or keyed ones (the window holds 100,002 keys).</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_key_stored_more_than_100_000_messages_back_is_still_a_duplicate_after_a_crash(bool keyedFill)
    {
        const int Fill = 100_001;
        const int Batch = 1_000;
        var bus = LiminalBus.Start(Sys, Settings);
        var original = Ask<PublishAck>(bus.Channels, Keyed(Channel, "K"));
        Assert.Equal((1L, false), (original.SequenceNr, original.Duplicate));

        // Pipelined: a batch of publishes in flight at a time, each batch answered before the next.
        var fill = Stopwatch.StartNew();
        long last = 0;
        var fillAcks = new Dictionary<int, PublishAck>();
        for (var start = 0; start < Fill; start += Batch)
        {
            var numbers = Enumerable.Range(start, Math.Min(Batch, Fill - start)).ToList();
            var replies = await Task.WhenAll(numbers.Select(n =>
                bus.Channels.Ask<object>(keyedFill ? Keyed(Channel, $"fill-{n}", n: n) : new Publish(Channel, new MessageEnvelope(Payload(null, n), "filler")),
                    Patience)));
            for (var i = 0; i < replies.Length; i++)
            {
                var ack = Assert.IsType<PublishAck>(replies[i]);
                last = Math.Max(last, ack.SequenceNr!.Value);
                if (numbers[i] is 0 or Fill / 2 or Fill - 1)
                    fillAcks[numbers[i]] = ack;
            }
        }
        output.WriteLine($"filled {Fill:N0} {(keyedFill ? "keyed" : "unkeyed")} messages behind K in {fill.Elapsed.TotalSeconds:0.0} s");
        Assert.Equal(Fill + 1, last);
        Shutdown(Sys);   // a crash: no drain, the actors just stop

        var restarted = StartSystemOnSameDatabase();
        try
        {
            var recovered = LiminalBus.Start(restarted, Settings);
            var probe = CreateTestProbe(restarted);
            var subscriber = CreateTestProbe(restarted);
            recovered.Channels.Tell(new Subscribe(Channel, subscriber.Ref), probe.Ref);
            probe.ExpectMsg<Subscribed>(Patience);

            var recovery = Stopwatch.StartNew();
            recovered.Channels.Tell(Keyed(Channel, "K"), probe.Ref);
            var duplicate = probe.ExpectMsg<PublishAck>(Patience);
            output.WriteLine($"the re-publish of K was answered {recovery.Elapsed.TotalSeconds:0.0} s after the restart");

            Assert.Equal(
                (original.Partition, 1L, true, false, 0, false),
                (duplicate.Partition, duplicate.SequenceNr, duplicate.Duplicate, duplicate.Delivered, duplicate.DeliveredCount, duplicate.InFlight));
            Assert.Equal(original.Receipt, duplicate.Receipt);

            if (keyedFill)
            {
                // The keys behind K too: the oldest, one in the middle, the newest.
                foreach (var (n, ack) in fillAcks)
                {
                    recovered.Channels.Tell(Keyed(Channel, $"fill-{n}", n: n), probe.Ref);
                    Assert.Equal(ack with { Delivered = false, DeliveredCount = 0, Duplicate = true }, probe.ExpectMsg<PublishAck>(Patience));
                }
            }

            // The subscriber of the new system is handed nothing for K: the next message it gets is the next one stored.
            recovered.Channels.Tell(new Publish(Channel, new MessageEnvelope(Payload("after"), "shop")), probe.Ref);
            Assert.Equal(Fill + 2, probe.ExpectMsg<PublishAck>(Patience).SequenceNr);
            var next = subscriber.ExpectMsg<Delivery>(Patience);
            Assert.Equal(("after", Fill + 2L), (KeyOf(next), next.SequenceNr));
        }
        finally
        {
            Shutdown(restarted);
        }
    }
}
