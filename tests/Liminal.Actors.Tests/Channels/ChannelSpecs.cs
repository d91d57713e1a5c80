using System.Text;
using Akka.Actor;
using Liminal.Actors.Channels;
using Liminal.Actors.Dedup;
using Liminal.Actors.Metrics;
using Liminal.Actors.Tests.TestSupport;

namespace Liminal.Actors.Tests.Channels;

public sealed class ChannelSpecs : LiminalTestKit
{
    private LiminalBus StartBus(params ChannelDefinition[] channels) =>
        LiminalBus.Start(Sys, DefaultSettings with
        {
            Channels = channels.Length > 0 ? channels : [new ChannelDefinition("orders", Durable: true, OrderSchema.FilePath)],
        });

    private static MessageEnvelope Envelope(string orderId) => new(OrderSchema.Order(orderId), "shop");


    [Fact]
    public void A_duplicate_key_is_delivered_to_a_live_subscriber_exactly_once()
    {
        var bus = StartBus();
        var subscriber = CreateTestProbe();
        Ask<Subscribed>(bus.Channels, new Subscribe("orders", subscriber.Ref));

        var first = Ask<PublishAck>(bus.Channels, new Publish("orders", Envelope("k1"), "k1"));
        var duplicate = Ask<PublishAck>(bus.Channels, new Publish("orders", Envelope("k1"), "k1"));
        Ask<PublishAck>(bus.Channels, new Publish("orders", Envelope("k2"), "k2"));

        Assert.Equal(["k1", "k2"], subscriber.ReceiveN(2).Cast<Delivery>().Select(OrderSchema.OrderIdOf));
        subscriber.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        Assert.Equal((1L, true, 1, false), (first.SequenceNr, first.Delivered, first.DeliveredCount, first.Duplicate));
        Assert.Equal((true, false, false, 0), (duplicate.Duplicate, duplicate.InFlight, duplicate.Delivered, duplicate.DeliveredCount));
        Assert.Equal(first.Receipt, duplicate.Receipt);
        Assert.Contains("\"sequenceNr\":1", Encoding.UTF8.GetString(first.Receipt!.Bytes));
        Assert.Equal(2, JournalRows("channel-orders-0"));
    }

    [Fact]
    public void The_bus_counts_publishes_deliveries_suppressed_duplicates_and_rejections()
    {
        using var metrics = LiminalMetrics.For(Sys).Listen();
        var bus = StartBus();
        Ask<Subscribed>(bus.Channels, new Subscribe("orders", CreateTestProbe().Ref));
        Ask<Subscribed>(bus.Channels, new Subscribe("orders", CreateTestProbe().Ref));

        Ask<PublishAck>(bus.Channels, new Publish("orders", Envelope("k1"), "k1"));
        Ask<PublishAck>(bus.Channels, new Publish("orders", Envelope("k1"), "k1"));
        Ask<PublishRejected>(bus.Channels, new Publish("orders", new MessageEnvelope("[]"u8.ToArray(), "shop")));
        Ask<PublishRejected>(bus.Channels, new Publish("nowhere", Envelope("x")));

        // A keyed publish claims nothing in the dedup key space: its partition keeps the key (SPEC §2.4).
        Assert.Equal((1, 2, 1, 2, 0, 0),
            (metrics.Counter(LiminalMetrics.Publishes, "orders"), metrics.Counter(LiminalMetrics.Deliveries, "orders"),
                metrics.Counter(LiminalMetrics.DuplicatesSuppressed, "orders"), metrics.Counter(LiminalMetrics.PublishRejections),
                metrics.Counter(LiminalMetrics.Claims), metrics.Counter(LiminalMetrics.SweepExpirations)));
        Assert.Equal((1, 1), (metrics.Counter(LiminalMetrics.PublishRejections, nameof(PublishFailure.SchemaMismatch)),
            metrics.Counter(LiminalMetrics.PublishRejections, nameof(PublishFailure.UnknownChannel))));
        Assert.True(metrics.Histogram(LiminalMetrics.JournalWrite).Count > 0);   // the message was written
        // Gauges: the partition's window holds the one key; nothing is in flight once every publish is answered.
        // The partition sets them after the message it answered from: polled, not raced.
        AwaitAssert(() => Assert.Equal((1, 0),
            (metrics.Gauge(LiminalMetrics.DedupWindowKeys, "orders", 0), metrics.Gauge(LiminalMetrics.PublishesInFlight, "orders"))));
    }

    [Fact]
    public void A_publish_with_no_subscriber_is_stored_but_not_delivered()
    {
        var bus = StartBus();

        var ack = Ask<PublishAck>(bus.Channels, new Publish("orders", Envelope("o1")));

        Assert.Equal((1L, false, 0), (ack.SequenceNr, ack.Delivered, ack.DeliveredCount));
        Assert.Equal(1, JournalRows("channel-orders-0"));
    }

    [Fact]
    public void Schema_violations_and_non_json_payloads_are_rejected_before_anything_is_claimed_or_persisted()
    {
        var bus = StartBus();

        var invalid = Ask<PublishRejected>(bus.Channels, new Publish("orders", new MessageEnvelope("""{"amount":-5}"""u8.ToArray(), "shop"), "key-a"));
        var notJson = Ask<PublishRejected>(bus.Channels, new Publish("orders", new MessageEnvelope("not json"u8.ToArray(), "shop"), "key-b"));

        Assert.Equal(PublishFailure.SchemaMismatch, invalid.Reason);
        Assert.Contains("orderId", invalid.Detail);                // the failing path is named
        Assert.Contains("amount", invalid.Detail);
        Assert.Equal(PublishFailure.SchemaMismatch, notJson.Reason);
        Assert.Contains("not JSON", notJson.Detail);
        Assert.Equal(0, JournalRows("channel-"));
        Assert.Equal(0, JournalRows("dedup-"));
        Assert.Null(Ask<KeyStatus>(bus.Dedup, new LookupKey("key-a")).Decision);
    }

    [Fact]
    public void Unknown_channels_and_invalid_keys_are_rejected()
    {
        var bus = StartBus();

        Assert.Equal(PublishFailure.UnknownChannel, Ask<PublishRejected>(bus.Channels, new Publish("nowhere", Envelope("o"))).Reason);
        Assert.Equal(PublishFailure.InvalidKey, Ask<PublishRejected>(bus.Channels, new Publish("orders", Envelope("o"), "")).Reason);
        Ask<ChannelRejected>(bus.Channels, new Subscribe("nowhere", TestActor));
        Assert.Equal(0, JournalRows("channel-"));
    }

    [Fact]
    public void An_ephemeral_channel_fans_out_without_storing_and_dead_subscribers_are_removed()
    {
        var bus = StartBus(new ChannelDefinition("pings", Durable: false));
        var alive = CreateTestProbe();
        var doomed = CreateTestProbe();
        Ask<Subscribed>(bus.Channels, new Subscribe("pings", alive.Ref));
        Ask<Subscribed>(bus.Channels, new Subscribe("pings", doomed.Ref));

        var ack = Ask<PublishAck>(bus.Channels, new Publish("pings", new MessageEnvelope("{}"u8.ToArray(), "p")));
        Assert.Equal((null, 2), (ack.SequenceNr, ack.DeliveredCount));
        Assert.Null(alive.ExpectMsg<Delivery>().SequenceNr);

        Watch(doomed.Ref);
        Sys.Stop(doomed.Ref);
        ExpectTerminated(doomed.Ref);
        AwaitAssert(() => Assert.Equal(1, Ask<PublishAck>(bus.Channels, new Publish("pings", new MessageEnvelope("{}"u8.ToArray(), "p"))).DeliveredCount));

        Ask<Unsubscribed>(bus.Channels, new Unsubscribe("pings", alive.Ref));
        Assert.False(Ask<PublishAck>(bus.Channels, new Publish("pings", new MessageEnvelope("{}"u8.ToArray(), "p"))).Delivered);
        Assert.Equal(0, JournalRows("channel-"));
    }

    [Fact]
    public void A_slow_bounded_subscriber_never_stalls_the_others_and_is_told_what_it_missed()
    {
        var bus = StartBus();
        var fast = CreateTestProbe();
        var slow = CreateTestProbe();
        Ask<Subscribed>(bus.Channels, new Subscribe("orders", fast.Ref));
        Ask<Subscribed>(bus.Channels, new Subscribe("orders", slow.Ref) { MaxUnacknowledged = 2, BufferSize = 3 });

        for (var i = 1; i <= 10; i++)
            Ask<PublishAck>(bus.Channels, new Publish("orders", Envelope($"o{i}")));

        Assert.Equal(Enumerable.Range(1, 10).Select(n => (long?)n), fast.ReceiveN(10).Cast<Delivery>().Select(d => d.SequenceNr));
        Assert.Equal([1L, 2L], slow.ReceiveN(2).Cast<Delivery>().Select(d => d.SequenceNr!.Value));
        var outbox = slow.LastSender;   // deliveries are acknowledged to their sender
        slow.ExpectNoMsg(TimeSpan.FromMilliseconds(200));   // two unacknowledged: nothing more is sent

        // 3..7 overflowed the buffer of 3 and were dropped; 8..10 waited.
        outbox.Tell(DeliveryAck.Instance, slow.Ref);
        Assert.Equal(new DeliveriesDropped("orders", 0, 3, 7, 5), slow.ExpectMsg<DeliveriesDropped>());
        Assert.Equal(8, slow.ExpectMsg<Delivery>().SequenceNr);
        outbox.Tell(DeliveryAck.Instance, slow.Ref);
        outbox.Tell(DeliveryAck.Instance, slow.Ref);
        Assert.Equal([9L, 10L], slow.ReceiveN(2).Cast<Delivery>().Select(d => d.SequenceNr!.Value));
    }

    [Fact]
    public void Channels_are_created_at_run_time_and_bad_definitions_are_rejected()
    {
        var bus = StartBus();

        Ask<ChannelCreated>(bus.Channels, new CreateChannel(new ChannelDefinition("invoices", Durable: true, OrderSchema.FilePath, Partitions: 2)));
        Assert.Contains("already exists", Ask<ChannelRejected>(bus.Channels, new CreateChannel(new ChannelDefinition("orders", true))).Reason);
        Assert.Contains("name", Ask<ChannelRejected>(bus.Channels, new CreateChannel(new ChannelDefinition("", true))).Reason);
        Assert.Contains("partitions", Ask<ChannelRejected>(bus.Channels, new CreateChannel(new ChannelDefinition("p0", true, Partitions: 0))).Reason);
        Assert.Contains("missing.json", Ask<ChannelRejected>(bus.Channels, new CreateChannel(new ChannelDefinition("s", true, "missing.json"))).Reason);

        var ack = Ask<PublishAck>(bus.Channels, new Publish("invoices", Envelope("i1")) { PartitionKey = "customer-7" });
        Assert.Equal(DedupKeys.ShardOf("customer-7", 2), ack.Partition);
        Assert.Equal(1, JournalRows($"channel-invoices-{ack.Partition}"));
    }

    [Fact]
    public void Ten_thousand_messages_from_ten_publishers_reach_three_subscribers_in_sequence_order_once_each()
    {
        var bus = StartBus();
        var subscribers = Enumerable.Range(0, 3).Select(_ => CreateTestProbe()).ToList();
        foreach (var subscriber in subscribers)
            Ask<Subscribed>(bus.Channels, new Subscribe("orders", subscriber.Ref));
        var publishers = Enumerable.Range(0, 10).Select(_ => CreateTestProbe()).ToList();

        // Every publish is in flight at once: the channel pipelines them.
        foreach (var (publisher, p) in publishers.Select((publisher, p) => (publisher, p)))
            for (var i = 0; i < 1000; i++)
                bus.Channels.Tell(new Publish("orders", Envelope($"{p}-{i}"), $"{p}-{i}"), publisher.Ref);

        foreach (var publisher in publishers)
            Assert.All(publisher.ReceiveN(1000, TimeSpan.FromSeconds(60)), ack => Assert.IsType<PublishAck>(ack));
        foreach (var subscriber in subscribers)
        {
            var deliveries = subscriber.ReceiveN(10_000, TimeSpan.FromSeconds(60)).Cast<Delivery>().ToList();
            Assert.Equal(Enumerable.Range(1, 10_000).Select(n => (long?)n), deliveries.Select(d => d.SequenceNr));
            Assert.Equal(10_000, deliveries.Select(OrderSchema.OrderIdOf).Distinct().Count());
        }
    }

    [Fact]
    public void Invalid_channel_configuration_is_reported_all_at_once_at_start()
    {
        var error = Assert.Throws<LiminalConfigurationException>(() => LiminalBus.Start(Sys, DefaultSettings with
        {
            Channels = [new ChannelDefinition("a", true, "no-such-schema.json"), new ChannelDefinition("b b", true), new ChannelDefinition("c", true, Partitions: 0)],
        }));

        Assert.Equal(3, error.Problems.Count);
    }
}
