using Akka.Actor;
using Liminal.Actors.Channels;
using Liminal.Actors.Tests.TestSupport;
using static Liminal.Actors.Tests.TestSupport.ChannelReading;

namespace Liminal.Actors.Tests.Channels;

/// <summary>SPEC §2.4: keyed publishes as one producer sees them — order (step 6) and ephemeral keys.</summary>
public sealed class KeyedPublishSpecs : LiminalTestKit
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private LiminalBus StartBus(ChannelDefinition channel) => LiminalBus.Start(Sys, DefaultSettings with { Channels = [channel] });

    [Theory]
    [InlineData(1, null)]
    [InlineData(4, "customer-7")]
    public void Pipelined_keyed_publishes_of_one_producer_are_stored_delivered_and_acked_in_the_order_sent(int partitions, string? partitionKey)
    {
        const int Count = 500;
        var bus = StartBus(new ChannelDefinition("orders", Durable: true, Partitions: partitions));
        var subscriber = CreateTestProbe();
        Ask<Subscribed>(bus.Channels, new Subscribe("orders", subscriber.Ref));
        var producer = CreateTestProbe();

        // Every publish is sent before any answer is read.
        for (var i = 0; i < Count; i++)
            bus.Channels.Tell(Keyed("orders", $"key-{i}", partitionKey, i), producer.Ref);

        var acks = producer.ReceiveN(Count, Patience).Select(reply => Assert.IsType<PublishAck>(reply)).ToList();
        var partition = acks[0].Partition;
        Assert.All(acks, ack => Assert.Equal((partition, false, false), (ack.Partition, ack.Duplicate, ack.InFlight)));
        // Answered in the order sent, each at the next position of the (fresh) partition.
        Assert.Equal(Enumerable.Range(1, Count).Select(n => (long?)n), acks.Select(ack => ack.SequenceNr));

        var deliveries = subscriber.ReceiveN(Count, Patience).Cast<Delivery>().ToList();
        Assert.Equal(Enumerable.Range(0, Count).Select(i => $"key-{i}"), deliveries.Select(KeyOf));
        Assert.Equal(Enumerable.Range(1, Count).Select(n => (long?)n), deliveries.Select(d => d.SequenceNr));
        Assert.All(deliveries, d => Assert.Equal(partition, d.Partition));
        Assert.Equal(Enumerable.Range(0, Count).Select(i => $"key-{i}"), this.ReadLog(Sys, bus.Channels, "orders", partition).Select(KeyOf));

        // Each ack was this publish's own: re-publishing the keys, again pipelined, names the same positions in order.
        for (var i = 0; i < Count; i++)
            bus.Channels.Tell(Keyed("orders", $"key-{i}", partitionKey, i), producer.Ref);
        var duplicates = producer.ReceiveN(Count, Patience).Select(reply => Assert.IsType<PublishAck>(reply)).ToList();
        Assert.All(duplicates, d => Assert.Equal((partition, true, false, 0), (d.Partition, d.Duplicate, d.Delivered, d.DeliveredCount)));
        Assert.Equal(acks.Select(a => a.SequenceNr), duplicates.Select(d => d.SequenceNr));
        Assert.Equal(acks.Select(a => a.Receipt), duplicates.Select(d => d.Receipt));
        Assert.Empty(this.DeliveredSoFar(Sys, bus.Channels, "orders", partitions, subscriber).Single());
    }

    [Fact]
    public void A_keys_scope_is_its_channel_and_a_key_without_a_partition_key_always_meets_the_same_partition()
    {
        var bus = LiminalBus.Start(Sys, DefaultSettings with
        {
            Channels = [new ChannelDefinition("orders", Durable: true, Partitions: 4), new ChannelDefinition("invoices", Durable: true, Partitions: 4)],
        });

        var keys = Enumerable.Range(0, 40).Select(i => $"key-{i}").ToList();
        var orders = keys.Select(key => Ask<PublishAck>(bus.Channels, Keyed("orders", key))).ToList();
        // The same keys on another channel are other messages: stored and acknowledged there, not duplicates.
        var invoices = keys.Select(key => Ask<PublishAck>(bus.Channels, Keyed("invoices", key))).ToList();
        var duplicates = orders.Concat(invoices).Where(ack => ack.Duplicate).ToList();
        Assert.True(duplicates.Count == 0, $"{duplicates.Count} first publishes answered as duplicates, e.g. {duplicates.FirstOrDefault()}");
        Assert.Equal(orders.Select(a => a.Partition), invoices.Select(a => a.Partition));   // one stable hash of the key
        Assert.True(orders.Select(a => a.Partition).Distinct().Count() > 1, "40 keys all hashed to one partition of 4");

        var again = keys.Select(key => Ask<PublishAck>(bus.Channels, Keyed("orders", key))).ToList();
        Assert.Equal(orders.Select(a => (a.Partition, a.SequenceNr, true, a.Receipt)), again.Select(a => (a.Partition, a.SequenceNr, a.Duplicate, a.Receipt)));
        Assert.Equal(keys.Order(), this.ReadAllLogs(Sys, bus.Channels, "invoices", 4).Select(d => KeyOf(d)!).Order());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void An_ephemeral_channels_key_is_deduplicated_within_a_run(int partitions)
    {
        var bus = StartBus(new ChannelDefinition("pings", Durable: false, Partitions: partitions));
        var subscriber = CreateTestProbe();
        Ask<Subscribed>(bus.Channels, new Subscribe("pings", subscriber.Ref));

        // The duplicate is sent before the first is answered.
        var (original, again) = (CreateTestProbe(), CreateTestProbe());
        bus.Channels.Tell(Keyed("pings", "k1"), original.Ref);
        bus.Channels.Tell(Keyed("pings", "k1"), again.Ref);
        var first = original.ExpectMsg<PublishAck>();
        var duplicate = again.ExpectMsg<PublishAck>();

        Assert.Equal((null, false, true, 1, false), (first.SequenceNr, first.Duplicate, first.Delivered, first.DeliveredCount, first.InFlight));
        Assert.Equal(
            (first.Partition, null, true, false, 0, false),
            (duplicate.Partition, duplicate.SequenceNr, duplicate.Duplicate, duplicate.Delivered, duplicate.DeliveredCount, duplicate.InFlight));
        Assert.Equal(first.Receipt, duplicate.Receipt);
        // The receipt is {"channel","partition","sequenceNr"}, with no position on an ephemeral channel.
        Assert.Equal(("pings", first.Partition, null), ReadReceipt(first.Receipt!));

        var delivered = this.DeliveredSoFar(Sys, bus.Channels, "pings", partitions, subscriber).Single();
        Assert.Equal(["k1"], delivered.Select(KeyOf));
        Assert.Equal((first.Partition, null), (delivered[0].Partition, delivered[0].SequenceNr));
    }
}
