using System.Text;
using Akka.Actor;
using Liminal.Actors.Channels;
using Liminal.Actors.Tests.TestSupport;
using MessageEnvelope = Liminal.Actors.Channels.MessageEnvelope;

namespace Liminal.Actors.Tests.Attacks;

/// <summary>Attacks on durable consumers (SPEC §2.6): misaddressed acks, delete then subscribe, requests for consumers that do not exist.</summary>
public sealed class DurableConsumerAttacks : LiminalTestKit
{
    private LiminalSettings Settings => DefaultSettings with { Channels = [new ChannelDefinition("orders", Durable: true, Partitions: 2)] };

    private static Publish Order(int n, int partition) =>
        new("orders", new MessageEnvelope(Encoding.UTF8.GetBytes($"{{\"n\":{n}}}"), "shop")) { PartitionKey = partition == 0 ? "a" : "c" };

    private ActorSelection GroupOf(LiminalBus bus, string consumer) =>
        Sys.ActorSelection(bus.Channels.Path / "orders" / ("consumer-" + Uri.EscapeDataString(consumer)));

    private bool Running(LiminalBus bus, string consumer) =>
        GroupOf(bus, consumer).Ask<ActorIdentity>(new Identify(consumer), TimeSpan.FromSeconds(5)).Result.Subject is not null;

    [Fact]
    public void An_ack_nak_or_term_sent_to_a_delivery_sender_that_names_another_consumer_or_partition_is_rejected_and_settles_nothing()
    {
        var bus = LiminalBus.Start(Sys, Settings);
        var member = CreateTestProbe();
        Ask<ConsumerSubscribed>(bus.Channels, new SubscribeDurable("orders", "billing", member.Ref, new ConsumerOptions()));
        var published = Ask<PublishAck>(bus.Channels, Order(1, 0));
        var delivery = member.ExpectMsg<Delivery>();
        var deliverySender = member.LastSender;
        var partition = delivery.Partition;
        var other = published.Partition == 0 ? 1 : 0;

        foreach (var wrong in new object[]
                 {
                     new Ack("orders", "shipping", partition, 1), new Ack("orders", "billing", other, 1), new Ack("invoices", "billing", partition, 1),
                     new Nak("orders", "shipping", partition, 1), new Term("orders", "billing", other, 1, "misaddressed"),
                 })
        {
            member.Send(deliverySender, wrong);
            var rejected = member.ExpectMsg<AckRejected>();
            Assert.Contains("does not name", rejected.Reason);
        }

        var info = Ask<ConsumerInfo>(bus.Channels, new GetConsumerInfo("orders", "billing")).Partitions.Single(p => p.Partition == partition);
        Assert.Equal((0L, 1, 0L, 0L), (info.AckFloor, info.Pending, info.Redelivered, info.DeadLettered));
        member.Send(deliverySender, new Ack("orders", "billing", partition, 1));
        Assert.Equal(new Acked("orders", "billing", partition, 1), member.ExpectMsg<Acked>());
    }

    [Fact]
    public void A_subscribe_sent_as_soon_as_DeleteConsumer_is_answered_is_answered_and_the_consumer_starts_afresh()
    {
        var bus = LiminalBus.Start(Sys, Settings);
        Ask<PublishAck>(bus.Channels, Order(1, 0));
        for (var round = 0; round < 10; round++)
        {
            var member = CreateTestProbe();
            bus.Channels.Tell(new SubscribeDurable("orders", "billing", member.Ref, new ConsumerOptions()), TestActor);
            Assert.IsType<ConsumerSubscribed>(ExpectMsg<object>());
            var delivery = member.ExpectMsg<Delivery>();
            Assert.Equal((1L, 1), (delivery.SequenceNr!.Value, delivery.Attempt));
            Ask<Acked>(bus.Channels, new Ack("orders", "billing", delivery.Partition, 1));

            Ask<ConsumerDeleted>(bus.Channels, new DeleteConsumer("orders", "billing"));
        }
        var last = CreateTestProbe();
        bus.Channels.Tell(new SubscribeDurable("orders", "billing", last.Ref, new ConsumerOptions()), TestActor);
        Assert.IsType<ConsumerSubscribed>(ExpectMsg<object>());
        Assert.Equal(1L, last.ExpectMsg<Delivery>().SequenceNr);
        Assert.Equal(1, Ask<ConsumerInfo>(bus.Channels, new GetConsumerInfo("orders", "billing")).Members);
    }

    [Fact]
    public void Asking_about_hundreds_of_consumers_that_do_not_exist_leaves_none_of_them_running()
    {
        var bus = LiminalBus.Start(Sys, Settings);
        var member = CreateTestProbe();
        Ask<ConsumerSubscribed>(bus.Channels, new SubscribeDurable("orders", "billing", member.Ref, new ConsumerOptions()));
        var names = Enumerable.Range(0, 200).Select(i => $"nobody-{i}-{Guid.NewGuid():N}").ToList();
        foreach (var name in names)
            Assert.Contains("no consumer named", Ask<ChannelRejected>(bus.Channels, new GetConsumerInfo("orders", name)).Reason);

        AwaitAssert(() => Assert.DoesNotContain(names, name => Running(bus, name)), TimeSpan.FromSeconds(10));
        Assert.True(Running(bus, "billing"));
        Ask<PublishAck>(bus.Channels, Order(1, 0));
        Assert.Equal(1L, member.ExpectMsg<Delivery>().SequenceNr);
    }

    [Fact]
    public void Requests_racing_with_a_stopping_consumer_group_are_all_answered_by_the_next_one()
    {
        var bus = LiminalBus.Start(Sys, Settings);
        var member = CreateTestProbe();
        for (var i = 0; i < 50; i++)
            bus.Channels.Tell(new GetConsumerInfo("orders", "late"), TestActor);
        bus.Channels.Tell(new SubscribeDurable("orders", "late", member.Ref, new ConsumerOptions()), TestActor);
        for (var i = 0; i < 50; i++)
            bus.Channels.Tell(new GetConsumerInfo("orders", "late"), TestActor);

        var replies = ReceiveN(101, TimeSpan.FromSeconds(30));
        Assert.Single(replies.OfType<ConsumerSubscribed>());
        Assert.Equal(100, replies.OfType<ChannelRejected>().Count() + replies.OfType<ConsumerInfo>().Count());
        Assert.Equal(1, Ask<ConsumerInfo>(bus.Channels, new GetConsumerInfo("orders", "late")).Members);
        Ask<PublishAck>(bus.Channels, Order(1, 0));
        Assert.Equal(1L, member.ExpectMsg<Delivery>().SequenceNr);
    }

    [Fact]
    public void A_dead_letter_channel_with_a_schema_is_refused_at_subscribe_since_no_dead_letter_could_ever_be_stored_there()
    {
        var bus = LiminalBus.Start(Sys, Settings with
        {
            Channels = [.. Settings.Channels, new ChannelDefinition("orders-dead", Durable: true, SchemaPath: OrderSchema.FilePath)],
        });
        var member = CreateTestProbe();
        var rejected = Ask<ChannelRejected>(bus.Channels,
            new SubscribeDurable("orders", "billing", member.Ref, new ConsumerOptions { DeadLetterChannel = "orders-dead" }));
        Assert.Contains("schema", rejected.Reason);
        Assert.Contains("no consumer named", Ask<ChannelRejected>(bus.Channels, new GetConsumerInfo("orders", "billing")).Reason);
    }
}
