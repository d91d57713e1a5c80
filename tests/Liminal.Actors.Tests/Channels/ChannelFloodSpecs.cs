using System.Diagnostics;
using System.Text;
using Liminal.Actors.Channels;
using Liminal.Actors.Tests.TestSupport;
using Xunit.Abstractions;

namespace Liminal.Actors.Tests.Channels;

/// <summary>
/// Issue 13's flood: 100,000 publishes sent without waiting, on a real SQLite journal whose first write of the flood
/// stalls (a slow disk, a checkpoint) until every publish beyond the partition's bound has been answered. Each gets an
/// ack or <c>PublishRejected(Overloaded)</c>, exactly the acked ones are stored, and the host's memory stays bounded
/// (printed).
/// </summary>
public sealed class ChannelFloodSpecs(ITestOutputHelper output) : LiminalTestKit(TestDatabase.NewPath(),
    Withholding.JournalConfig<WithholdingSqliteJournal>(TimeSpan.FromMinutes(10)))
{
    private static readonly TimeSpan FloodPatience = TimeSpan.FromSeconds(120);

    private static Publish Message(string publisherId, int n) =>
        new("orders", new MessageEnvelope(Encoding.UTF8.GetBytes($$"""{"n":{{n}}}"""), publisherId));

    [Fact]
    public async Task A_flood_of_100000_publishes_sent_without_waiting_is_answered_with_an_ack_or_Overloaded_each_and_only_the_acked_are_stored()
    {
        const int Flood = 100_000;
        const int Bound = 10_000;   // the default of liminal.channel-limits.max-publishes-in-flight
        var bus = LiminalBus.Start(Sys, DefaultSettings with { Channels = [new ChannelDefinition("orders", Durable: true)] });
        Assert.Equal(1, Ask<PublishAck>(bus.Channels, Message("warm-up", 0)).SequenceNr);
        var held = Withholding.Arm(Sys, ChannelPartition.PersistenceIdOf("orders", 0));
        PrintMemory("before the flood");

        var producer = CreateTestProbe();
        for (var n = 1; n <= Flood; n++)
            bus.Channels.Tell(Message("flood", n), producer.Ref);
        await held.Stored.Task.WaitAsync(FloodPatience);

        var overloaded = 0;
        var acked = new List<long>();
        var other = new List<object>();
        void Count(object reply)
        {
            if (reply is PublishRejected { Reason: PublishFailure.Overloaded })
                overloaded++;
            else if (reply is PublishAck { Duplicate: false, SequenceNr: { } sequenceNr })
                acked.Add(sequenceNr);
            else
                other.Add(reply);
        }
        // Everything beyond the bound is answered while the journal is still stalled.
        foreach (var reply in producer.ReceiveN(Flood - Bound, FloodPatience))
            Count(reply);
        PrintMemory($"{Flood - Bound} answered, {Bound} in flight behind the stalled write");
        held.Release.TrySetResult();
        foreach (var reply in producer.ReceiveN(Bound, FloodPatience))
            Count(reply);
        PrintMemory("every publish answered");

        // At most the bound was taken on (fewer when the partition fell a buffer's worth behind its router), the rest
        // refused; the acked publishes hold positions 2.. in the order sent, and nothing refused was stored.
        Assert.Empty(other);
        output.WriteLine($"{acked.Count} acked, {overloaded} Overloaded");
        Assert.Equal(Flood, acked.Count + overloaded);
        Assert.InRange(acked.Count, 1, Bound);
        Assert.Equal(Enumerable.Range(2, acked.Count).Select(n => (long)n), acked);
        Assert.Equal(acked.Count + 1, JournalRows(ChannelPartition.PersistenceIdOf("orders", 0)));
        Assert.Equal(acked.Count + 2, Ask<PublishAck>(bus.Channels, Message("after", 0)).SequenceNr);
    }

    private void PrintMemory(string when)
    {
        using var process = Process.GetCurrentProcess();
        output.WriteLine($"{when}: managed heap {GC.GetTotalMemory(forceFullCollection: true) / (1024 * 1024)} MiB, " +
                         $"working set {process.WorkingSet64 / (1024 * 1024)} MiB (peak {process.PeakWorkingSet64 / (1024 * 1024)} MiB)");
    }
}
