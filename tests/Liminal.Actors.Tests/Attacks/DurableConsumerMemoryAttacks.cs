using System.Diagnostics;
using System.Text;
using Liminal.Actors.Channels;
using Liminal.Actors.Tests.TestSupport;
using Xunit.Abstractions;
using MessageEnvelope = Liminal.Actors.Channels.MessageEnvelope;

namespace Liminal.Actors.Tests.Attacks;

/// <summary>Measured alone: other specs' objects on the same heap would blur the figure.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MeasuredAlone
{
    public const string Name = "measured alone";
}

/// <summary>
/// Issue 15: what a durable consumer holds in memory when it is far behind a long log (SPEC §2.6: MaxAckPending is its
/// backpressure; ConsumerSettings.PageSize what it reads ahead), measured on the managed heap as ChannelFloodSpecs does.
/// </summary>
[Collection(MeasuredAlone.Name)]
public sealed class DurableConsumerMemoryAttacks(ITestOutputHelper output) : LiminalTestKit
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(2);

    [Fact]
    public void On_a_channel_of_100000_messages_a_consumer_without_members_and_one_whose_member_never_acks_hold_only_MaxAckPending_and_a_page()
    {
        const int Messages = 100_000;
        const int PayloadBytes = 1024;
        var bus = LiminalBus.Start(Sys, DefaultSettings with { Channels = [new ChannelDefinition("orders", Durable: true)] });
        var options = new ConsumerOptions { MaxAckPending = 100 };
        var gone = CreateTestProbe();
        Ask<ConsumerSubscribed>(bus.Channels, new SubscribeDurable("orders", "idle", gone.Ref, options));
        Sys.Stop(gone.Ref);
        AwaitAssert(() => Assert.Equal(0, Ask<ConsumerInfo>(bus.Channels, new GetConsumerInfo("orders", "idle")).Members), Patience);
        var stuck = CreateTestProbe();
        Ask<ConsumerSubscribed>(bus.Channels, new SubscribeDurable("orders", "stuck", stuck.Ref, options));
        var before = ManagedHeap("before publishing");

        var padding = new string('x', PayloadBytes);
        PublishAll(bus, Messages, padding);
        var published = ManagedHeap($"{Messages} messages of {PayloadBytes} bytes published");
        Assert.Equal(100, stuck.ReceiveN(100, Patience).Count(m => m is Delivery));
        var idle = Ask<ConsumerInfo>(bus.Channels, new GetConsumerInfo("orders", "idle")).Partitions.Single();
        var stuckInfo = Ask<ConsumerInfo>(bus.Channels, new GetConsumerInfo("orders", "stuck")).Partitions.Single();
        Assert.Equal((0L, Messages, 0), (idle.AckFloor, idle.LastSequenceNr, idle.Pending));
        Assert.Equal((0L, Messages, 100), (stuckInfo.AckFloor, stuckInfo.LastSequenceNr, stuckInfo.Pending));
        var after = ManagedHeap("both consumers read as far as they may");

        // Each consumer may hold MaxAckPending bodies plus one page (500) read ahead: about 0.6 MB each. Holding the
        // log would be over 100 MB each.
        const long Bound = 40L * 1024 * 1024;
        Assert.True(published - before < Bound, $"the managed heap grew by {(published - before) / (1024 * 1024)} MiB while publishing");
        Assert.True(after - before < Bound, $"the managed heap grew by {(after - before) / (1024 * 1024)} MiB with two consumers behind a log of {Messages}");
    }

    private long ManagedHeap(string when)
    {
        var heap = GC.GetTotalMemory(forceFullCollection: true);
        using var process = Process.GetCurrentProcess();
        output.WriteLine($"{when}: managed heap {heap / (1024 * 1024)} MiB, working set {process.WorkingSet64 / (1024 * 1024)} MiB");
        return heap;
    }

    private void PublishAll(LiminalBus bus, int count, string padding)
    {
        var publisher = CreateTestProbe();
        for (var start = 0; start < count; start += 1000)
        {
            var window = Math.Min(1000, count - start);
            for (var n = start; n < start + window; n++)
                bus.Channels.Tell(new Publish("orders", new MessageEnvelope(Encoding.UTF8.GetBytes($"{{\"n\":{n},\"pad\":\"{padding}\"}}"), "shop")), publisher.Ref);
            Assert.All(publisher.ReceiveN(window, Patience), reply => Assert.IsType<PublishAck>(reply));
        }
    }
}
