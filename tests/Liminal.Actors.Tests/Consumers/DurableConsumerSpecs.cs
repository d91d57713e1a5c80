using System.Text;
using System.Text.Json;
using Akka.Actor;
using MessageEnvelope = Liminal.Actors.Channels.MessageEnvelope;
using Liminal.Actors.Channels;
using Liminal.Actors.Tests.TestSupport;

namespace Liminal.Actors.Tests.Consumers;

/// <summary>
/// Durable consumers (SPEC §2.6) on a real SQLite file: acked delivery from the partition's log, redelivery on a
/// fake bus clock, dead letters and redrive, backpressure, and restarts of the bus.
/// </summary>
public sealed class DurableConsumerSpecs : LiminalTestKit
{
    private LiminalSettings Settings => DefaultSettings with { Channels = [new ChannelDefinition("orders", Durable: true, Partitions: 1)] };

    private static Publish Order(int n, string? key = null) =>
        new("orders", new MessageEnvelope(Encoding.UTF8.GetBytes($"{{\"n\":{n},\"amount\":{n * 10}}}"), "shop"), key);

    private static int N(Delivery delivery) => JsonDocument.Parse(delivery.Envelope.Payload).RootElement.GetProperty("n").GetInt32();

    private ConsumerSubscribed Subscribe(LiminalBus bus, IActorRef member, ConsumerOptions? options = null, string consumer = "billing") =>
        Ask<ConsumerSubscribed>(bus.Channels, new SubscribeDurable("orders", consumer, member, options ?? new ConsumerOptions()));

    /// <summary>A new actor system on the same database (a restarted process), the bus started on it, and a probe there.</summary>
    private void AfterARestart(LiminalSettings settings, Action<LiminalBus, Akka.TestKit.TestProbe> check)
    {
        var restarted = StartSystemOnSameDatabase();
        try
        {
            check(LiminalBus.Start(restarted, settings), CreateTestProbe(restarted));
        }
        finally
        {
            Shutdown(restarted);
        }
    }

    [Fact]
    public void Each_message_is_delivered_with_its_consumer_and_attempt_and_an_ack_is_answered_once_durable()
    {
        var bus = LiminalBus.Start(Sys, Settings);
        Ask<PublishAck>(bus.Channels, Order(1));
        var member = CreateTestProbe();
        Assert.Equal(new ConsumerSubscribed("orders", "billing"), Subscribe(bus, member.Ref));
        Ask<PublishAck>(bus.Channels, Order(2));

        var first = member.ExpectMsg<Delivery>();
        var second = member.ExpectMsg<Delivery>();
        Assert.Equal((1, 1L, "billing", 1), (N(first), first.SequenceNr!.Value, first.Consumer, first.Attempt));
        Assert.Equal((2, 2L, "billing", 1), (N(second), second.SequenceNr!.Value, second.Consumer, second.Attempt));

        // To the delivery's sender and to the bus: both answered.
        member.Send(member.LastSender, new Ack("orders", "billing", 0, 2));
        Assert.Equal(new Acked("orders", "billing", 0, 2), member.ExpectMsg<Acked>());
        Assert.Equal(new Acked("orders", "billing", 0, 1), Ask<Acked>(bus.Channels, new Ack("orders", "billing", 0, 1)));
        // A repeated ack is answered again.
        Assert.Equal(new Acked("orders", "billing", 0, 1), Ask<Acked>(bus.Channels, new Ack("orders", "billing", 0, 1)));

        var info = Ask<ConsumerInfo>(bus.Channels, new GetConsumerInfo("orders", "billing"));
        Assert.Equal(new ConsumerInfo("orders", "billing", [new PartitionConsumerInfo(0, 2, 2, 0, 0, 0)], 1), info);
    }

    [Fact]
    public void Acks_of_unknown_consumers_and_of_messages_never_delivered_are_rejected_typed()
    {
        var bus = LiminalBus.Start(Sys, Settings);
        Ask<PublishAck>(bus.Channels, Order(1));
        var member = CreateTestProbe();
        Subscribe(bus, member.Ref, new ConsumerOptions { MaxAckPending = 1 });
        member.ExpectMsg<Delivery>();
        Ask<PublishAck>(bus.Channels, Order(2));

        Assert.Equal("no channel named 'nope'", Ask<AckRejected>(bus.Channels, new Ack("nope", "billing", 0, 1)).Reason);
        Assert.Contains("no consumer named", Ask<AckRejected>(bus.Channels, new Ack("orders", "nobody", 0, 1)).Reason);
        Assert.Contains("not pending", Ask<AckRejected>(bus.Channels, new Ack("orders", "billing", 0, 7)).Reason);
        Assert.Contains("partitions 0 to 0", Ask<AckRejected>(bus.Channels, new Ack("orders", "billing", 3, 1)).Reason);
        Assert.Contains("must be at least 1", Ask<AckRejected>(bus.Channels, new Ack("orders", "billing", 0, 0)).Reason);
        Assert.Contains("not pending", Ask<AckRejected>(bus.Channels, new Nak("orders", "billing", 0, 2)).Reason);
        Assert.Contains("no consumer named", Ask<ChannelRejected>(bus.Channels, new GetConsumerInfo("orders", "nobody")).Reason);
    }

    [Fact]
    public void A_nak_redelivers_with_the_attempt_incremented_and_after_the_delay_on_the_bus_clock()
    {
        var bus = LiminalBus.Start(Sys, Settings);
        var member = CreateTestProbe();
        Subscribe(bus, member.Ref);
        Ask<PublishAck>(bus.Channels, Order(1));
        Assert.Equal(1, member.ExpectMsg<Delivery>().Attempt);

        Assert.Equal(new Redelivering("orders", "billing", 0, 1), Ask<Redelivering>(bus.Channels, new Nak("orders", "billing", 0, 1)));
        Assert.Equal(2, member.ExpectMsg<Delivery>().Attempt);

        Ask<Redelivering>(bus.Channels, new Nak("orders", "billing", 0, 1, TimeSpan.FromMinutes(5)));
        member.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        Clock.Advance(TimeSpan.FromMinutes(5));
        var third = member.ExpectMsg<Delivery>();
        Assert.Equal((1L, 3), (third.SequenceNr!.Value, third.Attempt));
        Assert.Equal(2, Ask<ConsumerInfo>(bus.Channels, new GetConsumerInfo("orders", "billing")).Partitions[0].Redelivered);
    }

    [Fact]
    public void A_message_not_acked_within_AckWait_comes_again_then_after_MaxDeliver_goes_once_to_the_dead_letter_channel_and_the_floor_moves_on()
    {
        var bus = LiminalBus.Start(Sys, Settings);
        var member = CreateTestProbe();
        Subscribe(bus, member.Ref, new ConsumerOptions { AckWait = TimeSpan.FromSeconds(30), MaxDeliver = 3 });
        var deadLetters = CreateTestProbe();
        Ask<Subscribed>(bus.Channels, new Subscribe("orders.dlq", deadLetters.Ref));
        Ask<PublishAck>(bus.Channels, Order(1));
        Ask<PublishAck>(bus.Channels, Order(2));

        Assert.Equal([1, 2], member.ReceiveN(2).Cast<Delivery>().Select(N));
        Ask<Acked>(bus.Channels, new Ack("orders", "billing", 0, 2));
        for (var attempt = 2; attempt <= 3; attempt++)
        {
            Clock.Advance(TimeSpan.FromSeconds(31));
            var again = member.ExpectMsg<Delivery>();
            Assert.Equal((1, attempt), (N(again), again.Attempt));
        }
        Clock.Advance(TimeSpan.FromSeconds(31));

        var deadLetter = deadLetters.ExpectMsg<Delivery>();
        using var json = JsonDocument.Parse(deadLetter.Envelope.Payload);
        var root = json.RootElement;
        Assert.Equal(("orders", 0, 1L, "billing", 3, "shop", 1),
            (root.GetProperty("channel").GetString(), root.GetProperty("partition").GetInt32(), root.GetProperty("sequenceNr").GetInt64(),
             root.GetProperty("consumer").GetString(), root.GetProperty("attempts").GetInt32(), root.GetProperty("publisherId").GetString(),
             root.GetProperty("payload").GetProperty("n").GetInt32()));
        Assert.Contains("3 deliveries", root.GetProperty("reason").GetString());
        AwaitAssert(() => Assert.Equal(new PartitionConsumerInfo(0, 2, 2, 0, 2, 1),
            Ask<ConsumerInfo>(bus.Channels, new GetConsumerInfo("orders", "billing")).Partitions[0]));
        Clock.Advance(TimeSpan.FromMinutes(10));
        member.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        deadLetters.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public void Term_dead_letters_at_once_with_its_reason_and_a_redrive_publishes_the_original_again_once()
    {
        var bus = LiminalBus.Start(Sys, Settings);
        var member = CreateTestProbe();
        Subscribe(bus, member.Ref);
        Ask<PublishAck>(bus.Channels, Order(7, key: "order-7"));
        member.ExpectMsg<Delivery>();

        Assert.Equal(new DeadLettered("orders", "billing", 0, 1), Ask<DeadLettered>(bus.Channels, new Term("orders", "billing", 0, 1, "bad address")));
        var replay = CreateTestProbe();
        bus.Channels.Tell(new Replay("orders.dlq", 0, 1, replay.Ref));
        var deadLetter = replay.ExpectMsg<Delivery>();
        Assert.Equal(new ReplayCompleted("orders.dlq", 0, 1), replay.ExpectMsg<ReplayCompleted>());
        Assert.Equal("bad address", JsonDocument.Parse(deadLetter.Envelope.Payload).RootElement.GetProperty("reason").GetString());

        var redriven = Ask<PublishAck>(bus.Channels, new RedriveDeadLetter("orders.dlq", 1));
        Assert.Equal(("orders", 2L, false), (redriven.Channel, redriven.SequenceNr!.Value, redriven.Duplicate));
        var again = member.ExpectMsg<Delivery>();
        Assert.Equal((7, 2L, 1), (N(again), again.SequenceNr!.Value, again.Attempt));
        Assert.Equal("shop", again.Envelope.PublisherId);
        Assert.Contains("not a dead letter", Ask<PublishRejected>(bus.Channels, new RedriveDeadLetter("orders", 1)).Detail);
        Assert.Contains("no message 5", Ask<PublishRejected>(bus.Channels, new RedriveDeadLetter("orders.dlq", 5)).Detail);
    }

    [Fact]
    public void MaxAckPending_bounds_what_is_out_and_an_ack_lets_the_next_one_go()
    {
        var bus = LiminalBus.Start(Sys, Settings);
        for (var n = 1; n <= 10; n++)
            Ask<PublishAck>(bus.Channels, Order(n));
        var member = CreateTestProbe();
        Subscribe(bus, member.Ref, new ConsumerOptions { MaxAckPending = 3 });

        Assert.Equal([1, 2, 3], member.ReceiveN(3).Cast<Delivery>().Select(N));
        member.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        Assert.Equal(3, Ask<ConsumerInfo>(bus.Channels, new GetConsumerInfo("orders", "billing")).Partitions[0].Pending);
        Ask<Acked>(bus.Channels, new Ack("orders", "billing", 0, 2));
        Assert.Equal(4, N(member.ExpectMsg<Delivery>()));
        member.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void A_filter_delivers_only_matching_messages_and_acks_the_others_without_delivery()
    {
        var bus = LiminalBus.Start(Sys, Settings);
        var member = CreateTestProbe();
        Subscribe(bus, member.Ref, new ConsumerOptions { Filter = "amount >= 50" });
        for (var n = 1; n <= 8; n++)
            Ask<PublishAck>(bus.Channels, Order(n));

        Assert.Equal([5, 6, 7, 8], member.ReceiveN(4).Cast<Delivery>().Select(N));
        member.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        foreach (var sequenceNr in new long[] { 5, 6, 7, 8 })
            Ask<Acked>(bus.Channels, new Ack("orders", "billing", 0, sequenceNr));
        Assert.Equal(8, Ask<ConsumerInfo>(bus.Channels, new GetConsumerInfo("orders", "billing")).Partitions[0].AckFloor);
        Assert.Contains("filter", Ask<ChannelRejected>(bus.Channels,
            new SubscribeDurable("orders", "other", member.Ref, new ConsumerOptions { Filter = "amount >" })).Reason);
    }

    [Fact]
    public void A_malformed_subscribe_is_rejected_naming_the_problem_and_later_members_must_use_the_same_options()
    {
        var bus = LiminalBus.Start(Sys, Settings with { Channels = [.. Settings.Channels, new ChannelDefinition("clicks", Durable: false)] });
        var member = CreateTestProbe();
        Assert.Contains("ephemeral", Ask<ChannelRejected>(bus.Channels, new SubscribeDurable("clicks", "c", member.Ref, new ConsumerOptions())).Reason);
        Assert.Contains("no channel", Ask<ChannelRejected>(bus.Channels, new SubscribeDurable("nope", "c", member.Ref, new ConsumerOptions())).Reason);
        Assert.Contains("max ack pending", Ask<ChannelRejected>(bus.Channels, new SubscribeDurable("orders", "c", member.Ref, new ConsumerOptions { MaxAckPending = 0 })).Reason);
        Assert.Contains("max deliver", Ask<ChannelRejected>(bus.Channels, new SubscribeDurable("orders", "c", member.Ref, new ConsumerOptions { MaxDeliver = 0 })).Reason);
        Assert.Contains("ack wait", Ask<ChannelRejected>(bus.Channels, new SubscribeDurable("orders", "c", member.Ref, new ConsumerOptions { AckWait = TimeSpan.Zero })).Reason);
        Assert.Contains("does not exist", Ask<ChannelRejected>(bus.Channels,
            new SubscribeDurable("orders", "c", member.Ref, new ConsumerOptions { DeadLetterChannel = "nope" })).Reason);
        Assert.Contains("reserved", Ask<ChannelRejected>(bus.Channels, new CreateChannel(new ChannelDefinition("x.dlq", Durable: true))).Reason);

        Subscribe(bus, member.Ref, new ConsumerOptions { MaxDeliver = 2 }, consumer: "c");
        Assert.Contains("other options", Ask<ChannelRejected>(bus.Channels,
            new SubscribeDurable("orders", "c", CreateTestProbe().Ref, new ConsumerOptions { MaxDeliver = 3 })).Reason);
        Assert.Equal(1, Ask<ConsumerInfo>(bus.Channels, new GetConsumerInfo("orders", "c")).Members);
    }

    [Fact]
    public void A_deleted_consumer_starts_afresh_and_its_members_get_nothing_more()
    {
        var bus = LiminalBus.Start(Sys, Settings);
        var member = CreateTestProbe();
        Subscribe(bus, member.Ref);
        Ask<PublishAck>(bus.Channels, Order(1));
        member.ExpectMsg<Delivery>();
        Ask<Acked>(bus.Channels, new Ack("orders", "billing", 0, 1));

        Assert.Equal(new ConsumerDeleted("orders", "billing"), Ask<ConsumerDeleted>(bus.Channels, new DeleteConsumer("orders", "billing")));
        Ask<PublishAck>(bus.Channels, Order(2));
        member.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        AwaitAssert(() => Assert.Contains("no consumer named", Ask<ChannelRejected>(bus.Channels, new GetConsumerInfo("orders", "billing")).Reason));

        var fresh = CreateTestProbe();
        Subscribe(bus, fresh.Ref);
        Assert.Equal([1, 2], fresh.ReceiveN(2).Cast<Delivery>().Select(N));
    }

    [Fact]
    public void After_a_restart_the_consumer_resumes_at_its_floor_and_sends_again_exactly_what_was_not_acked()
    {
        var bus = LiminalBus.Start(Sys, Settings);
        var member = CreateTestProbe();
        Subscribe(bus, member.Ref);
        for (var n = 1; n <= 5; n++)
            Ask<PublishAck>(bus.Channels, Order(n));
        member.ReceiveN(5);
        foreach (var sequenceNr in new long[] { 1, 2, 4 })
            Ask<Acked>(bus.Channels, new Ack("orders", "billing", 0, sequenceNr));
        Shutdown(Sys);

        AfterARestart(Settings, (recovered, probe) =>
        {
        recovered.Channels.Tell(new Publish("orders", new MessageEnvelope(Encoding.UTF8.GetBytes("{\"n\":6}"), "shop")), probe.Ref);
        probe.ExpectMsg<PublishAck>();
        recovered.Channels.Tell(new SubscribeDurable("orders", "billing", probe.Ref, new ConsumerOptions()), probe.Ref);
        probe.ExpectMsg<ConsumerSubscribed>();
        Assert.Equal([3L, 5L, 6L], probe.ReceiveN(3).Cast<Delivery>().Select(d => d.SequenceNr!.Value));
        probe.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        });
    }

    [Fact]
    public void Right_after_a_restart_GetConsumerInfo_counts_the_stored_messages_not_yet_acked()
    {
        var bus = LiminalBus.Start(Sys, Settings);
        var member = CreateTestProbe();
        Subscribe(bus, member.Ref);
        for (var n = 1; n <= 5; n++)
            Ask<PublishAck>(bus.Channels, Order(n));
        member.ReceiveN(5);
        Ask<Acked>(bus.Channels, new Ack("orders", "billing", 0, 1));
        Ask<Acked>(bus.Channels, new Ack("orders", "billing", 0, 2));
        Shutdown(Sys);

        AfterARestart(Settings, (recovered, probe) =>
        {
        // Asked before any member is back: the consumer must not report its floor as the last stored message.
        recovered.Channels.Tell(new GetConsumerInfo("orders", "billing"), probe.Ref);
        Assert.Equal(new PartitionConsumerInfo(0, 2, 5, 0, 0, 0), probe.ExpectMsg<ConsumerInfo>().Partitions[0]);
        });
    }

    [Fact]
    public void A_restart_before_the_first_ack_with_DeliverFrom_New_replays_nothing_old()
    {
        var bus = LiminalBus.Start(Sys, Settings);
        for (var n = 1; n <= 3; n++)
            Ask<PublishAck>(bus.Channels, Order(n));
        var member = CreateTestProbe();
        Subscribe(bus, member.Ref, new ConsumerOptions { DeliverFrom = new DeliverFrom.New() });
        member.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        Shutdown(Sys);

        AfterARestart(Settings, (recovered, probe) =>
        {
        recovered.Channels.Tell(new SubscribeDurable("orders", "billing", probe.Ref, new ConsumerOptions { DeliverFrom = new DeliverFrom.New() }), probe.Ref);
        probe.ExpectMsg<ConsumerSubscribed>();
        recovered.Channels.Tell(new Publish("orders", new MessageEnvelope(Encoding.UTF8.GetBytes("{\"n\":4}"), "shop")), probe.Ref);
        var next = probe.FishForMessage<Delivery>(_ => true);
        Assert.Equal(4L, next.SequenceNr);
        });
    }

    [Fact]
    public void DeliverFrom_a_sequence_number_starts_there()
    {
        var bus = LiminalBus.Start(Sys, Settings);
        for (var n = 1; n <= 4; n++)
            Ask<PublishAck>(bus.Channels, Order(n));
        var member = CreateTestProbe();
        Subscribe(bus, member.Ref, new ConsumerOptions { DeliverFrom = new DeliverFrom.Sequence(3) });
        Assert.Equal([3, 4], member.ReceiveN(2).Cast<Delivery>().Select(N));
        Assert.Equal(2, Ask<ConsumerInfo>(bus.Channels, new GetConsumerInfo("orders", "billing")).Partitions[0].AckFloor);
    }

    [Fact]
    public void A_consumer_recovered_from_a_snapshot_keeps_its_floor_its_acks_above_it_and_its_attempts()
    {
        var settings = Settings with { SnapshotEvery = 2 };
        var bus = LiminalBus.Start(Sys, settings);
        var member = CreateTestProbe();
        Subscribe(bus, member.Ref, new ConsumerOptions { MaxDeliver = 4 });
        for (var n = 1; n <= 10; n++)
            Ask<PublishAck>(bus.Channels, Order(n));
        member.ReceiveN(10);
        foreach (var sequenceNr in new long[] { 1, 2, 4, 6, 7 })
            Ask<Acked>(bus.Channels, new Ack("orders", "billing", 0, sequenceNr));
        for (var attempt = 2; attempt <= 3; attempt++)
        {
            Ask<Redelivering>(bus.Channels, new Nak("orders", "billing", 0, 3));
            Assert.Equal((3L, attempt), member.ExpectMsg<Delivery>() is var again ? (again.SequenceNr!.Value, again.Attempt) : default);
        }
        Ask<Acked>(bus.Channels, new Ack("orders", "billing", 0, 9));
        AwaitAssert(() => Assert.True(SnapshotRows(Liminal.Actors.Consumers.ConsumerPartition.PersistenceIdOf("orders", "billing", 0)) > 0));
        Shutdown(Sys);

        AfterARestart(settings, (recovered, probe) =>
        {
        recovered.Channels.Tell(new SubscribeDurable("orders", "billing", probe.Ref, new ConsumerOptions { MaxDeliver = 4 }), probe.Ref);
        probe.ExpectMsg<ConsumerSubscribed>();
        var deliveries = probe.ReceiveN(4).Cast<Delivery>().Select(d => (d.SequenceNr!.Value, d.Attempt)).Order().ToList();
        Assert.Equal([(3L, 4), (5L, 1), (8L, 1), (10L, 1)], deliveries);
        recovered.Channels.Tell(new GetConsumerInfo("orders", "billing"), probe.Ref);
        // Two redeliveries before the restart (naks) and one after it (3 again, as its 4th attempt): all stored.
        Assert.Equal((2L, 3L), probe.ExpectMsg<ConsumerInfo>().Partitions[0] is var info ? (info.AckFloor, info.Redelivered) : default);
        });
    }

    [Fact]
    public void A_consumer_whose_floor_falls_behind_a_purge_is_told_what_it_skipped_and_goes_on_after_it()
    {
        var bus = LiminalBus.Start(Sys, Settings);
        var member = CreateTestProbe();
        Subscribe(bus, member.Ref, new ConsumerOptions { MaxAckPending = 2 });
        for (var n = 1; n <= 6; n++)
            Ask<PublishAck>(bus.Channels, Order(n));
        Assert.Equal([1, 2], member.ReceiveN(2).Cast<Delivery>().Select(N));

        Assert.Equal(new ChannelPurged("orders", [7]), Ask<ChannelPurged>(bus.Channels, new PurgeChannel("orders")));
        // 1 and 2 were read before the purge: still out, and acked as usual; 3 to 6 are gone.
        Ask<Acked>(bus.Channels, new Ack("orders", "billing", 0, 1));
        Ask<Acked>(bus.Channels, new Ack("orders", "billing", 0, 2));
        Assert.Equal(new MessagesSkipped("orders", "billing", 0, 3, 6, 4), member.ExpectMsg<MessagesSkipped>());
        Ask<PublishAck>(bus.Channels, Order(7));
        Assert.Equal((7, 7L), member.ExpectMsg<Delivery>() is var next ? (N(next), next.SequenceNr!.Value) : default);
        Ask<Acked>(bus.Channels, new Ack("orders", "billing", 0, 7));
        AwaitAssert(() => Assert.Equal(7, Ask<ConsumerInfo>(bus.Channels, new GetConsumerInfo("orders", "billing")).Partitions[0].AckFloor));
    }

    [Fact]
    public void Consumer_instruments_count_acks_redeliveries_and_dead_letters_and_show_lag_and_pending()
    {
        using var metrics = Liminal.Actors.Metrics.LiminalMetrics.For(Sys).Listen();
        var bus = LiminalBus.Start(Sys, Settings);
        var member = CreateTestProbe();
        Subscribe(bus, member.Ref, new ConsumerOptions { MaxDeliver = 2 });
        for (var n = 1; n <= 3; n++)
            Ask<PublishAck>(bus.Channels, Order(n));
        member.ReceiveN(3);
        Ask<Acked>(bus.Channels, new Ack("orders", "billing", 0, 1));
        Ask<Redelivering>(bus.Channels, new Nak("orders", "billing", 0, 2));
        member.ExpectMsg<Delivery>();
        Ask<DeadLettered>(bus.Channels, new Term("orders", "billing", 0, 3, "no"));

        AwaitAssert(() =>
        {
            Assert.Equal(1, metrics.Counter(Liminal.Actors.Metrics.LiminalMetrics.ConsumerAcks, "orders", "billing"));
            Assert.Equal(1, metrics.Counter(Liminal.Actors.Metrics.LiminalMetrics.ConsumerRedeliveries, "orders", "billing"));
            Assert.Equal(1, metrics.Counter(Liminal.Actors.Metrics.LiminalMetrics.ConsumerDeadLetters, "orders", "billing"));
            Assert.Equal(2, metrics.Gauge(Liminal.Actors.Metrics.LiminalMetrics.ConsumerLag, "orders", "billing", 0));
            Assert.Equal(1, metrics.Gauge(Liminal.Actors.Metrics.LiminalMetrics.ConsumerPending, "orders", "billing", 0));
        });
    }

    [Fact]
    public void A_dead_letter_its_custom_channel_can_never_take_is_parked_answered_and_the_floor_moves_on()
    {
        // A custom dead-letter channel gets no allowance for the dead letter's own fields: a message near the limit
        // cannot be stored there, however often it is tried.
        var bus = LiminalBus.Start(Sys, Settings with
        {
            MaxPayloadBytes = 1024,
            Channels = [.. Settings.Channels, new ChannelDefinition("orders-dead", Durable: true)],
        });
        var member = CreateTestProbe();
        Subscribe(bus, member.Ref, new ConsumerOptions { DeadLetterChannel = "orders-dead" });
        var big = $"{{\"n\":1,\"pad\":\"{new string('x', 1000)}\"}}";
        Ask<PublishAck>(bus.Channels, new Publish("orders", new MessageEnvelope(Encoding.UTF8.GetBytes(big), "shop")));
        member.ExpectMsg<Delivery>();

        Assert.Equal(new DeadLettered("orders", "billing", 0, 1), Ask<DeadLettered>(bus.Channels, new Term("orders", "billing", 0, 1, "no")));
        AwaitAssert(() => Assert.Equal(new PartitionConsumerInfo(0, 1, 1, 0, 0, 1),
            Ask<ConsumerInfo>(bus.Channels, new GetConsumerInfo("orders", "billing")).Partitions[0]));
    }
}
