using System.Text;
using Akka.Actor;
using Liminal.Actors.Channels;
using Liminal.Actors.Tests.TestSupport;
using MessageEnvelope = Liminal.Actors.Channels.MessageEnvelope;

namespace Liminal.Actors.Tests.Consumers;

/// <summary>Consumer groups (SPEC §2.6): members of one consumer compete, each message out to one of them at a time.</summary>
public sealed class ConsumerGroupSpecs : LiminalTestKit
{
    private LiminalSettings Settings(int partitions) =>
        DefaultSettings with { Channels = [new ChannelDefinition("orders", Durable: true, Partitions: partitions)] };

    private static Publish Order(int n) =>
        new("orders", new MessageEnvelope(Encoding.UTF8.GetBytes($"{{\"n\":{n}}}"), "shop")) { PartitionKey = $"k{n}" };

    /// <summary>A member that acks everything it gets (to the delivery's sender) and reports each delivery to the test.</summary>
    private sealed class AckingMember : ReceiveActor
    {
        public AckingMember(IActorRef report)
        {
            Receive<Delivery>(delivery =>
            {
                Sender.Tell(new Ack(delivery.Channel, delivery.Consumer!, delivery.Partition, delivery.SequenceNr!.Value));
                report.Tell((Self.Path.Name, delivery.Partition, delivery.SequenceNr!.Value, delivery.Attempt));
            });
            Receive<Acked>(_ => { });
        }
    }

    [Fact]
    public void Three_members_share_10000_messages_each_delivered_to_exactly_one_of_them()
    {
        var bus = LiminalBus.Start(Sys, Settings(3));
        var report = CreateTestProbe();
        for (var m = 0; m < 3; m++)
        {
            var member = Sys.ActorOf(Props.Create(() => new AckingMember(report.Ref)), $"member-{m}");
            Ask<ConsumerSubscribed>(bus.Channels, new SubscribeDurable("orders", "billing", member, new ConsumerOptions { MaxAckPending = 100 }));
        }
        var publisher = CreateTestProbe();
        for (var n = 0; n < 10_000; n++)
            bus.Channels.Tell(Order(n), publisher.Ref);
        publisher.ReceiveN(10_000, TimeSpan.FromMinutes(2)).ToList().ForEach(ack => Assert.IsType<PublishAck>(ack));

        var deliveries = report.ReceiveN(10_000, TimeSpan.FromMinutes(2)).Cast<(string Member, int Partition, long SequenceNr, int Attempt)>().ToList();
        Assert.Equal(10_000, deliveries.Select(d => (d.Partition, d.SequenceNr)).Distinct().Count());
        Assert.All(deliveries, d => Assert.Equal(1, d.Attempt));
        Assert.Equal(3, deliveries.Select(d => d.Member).Distinct().Count());
        AwaitAssert(() =>
        {
            var info = Ask<ConsumerInfo>(bus.Channels, new GetConsumerInfo("orders", "billing"));
            Assert.Equal(3, info.Members);
            Assert.All(info.Partitions, p => Assert.Equal((p.LastSequenceNr, 0), (p.AckFloor, p.Pending)));
            Assert.Equal(10_000, info.Partitions.Sum(p => p.LastSequenceNr));
        }, TimeSpan.FromSeconds(30));
        report.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public void A_member_that_stops_mid_stream_has_its_unacked_messages_given_to_the_others_at_once()
    {
        var bus = LiminalBus.Start(Sys, Settings(1));
        var quitter = CreateTestProbe();
        var report = CreateTestProbe();
        var stayer = Sys.ActorOf(Props.Create(() => new AckingMember(report.Ref)), "stayer");
        Ask<ConsumerSubscribed>(bus.Channels, new SubscribeDurable("orders", "billing", quitter.Ref, new ConsumerOptions()));
        Ask<ConsumerSubscribed>(bus.Channels, new SubscribeDurable("orders", "billing", stayer, new ConsumerOptions()));
        for (var n = 0; n < 20; n++)
            Ask<PublishAck>(bus.Channels, Order(n));

        // Round robin: the quitter holds about half, unacked.
        var held = new List<long>();
        quitter.ReceiveWhile(TimeSpan.FromSeconds(2), message => message is Delivery d ? d.SequenceNr!.Value : (long?)null, msgs: 10)
            .ToList().ForEach(s => held.Add(s!.Value));
        Assert.NotEmpty(held);
        var before = report.ReceiveN(20 - held.Count).Cast<(string, int, long SequenceNr, int)>().Select(d => d.SequenceNr).ToList();

        Sys.Stop(quitter.Ref);
        var redelivered = report.ReceiveN(held.Count).Cast<(string, int, long SequenceNr, int Attempt)>().ToList();
        Assert.Equal(held.Order(), redelivered.Select(d => d.SequenceNr).Order());
        Assert.All(redelivered, d => Assert.Equal(2, d.Attempt));
        Assert.Empty(before.Intersect(held));
        AwaitAssert(() => Assert.Equal(new PartitionConsumerInfo(0, 20, 20, 0, held.Count, 0),
            Ask<ConsumerInfo>(bus.Channels, new GetConsumerInfo("orders", "billing")).Partitions[0]));
    }

    [Fact]
    public void With_MaxAckPending_1_a_partition_is_delivered_in_order_one_at_a_time()
    {
        var bus = LiminalBus.Start(Sys, Settings(1));
        var report = CreateTestProbe();
        var a = Sys.ActorOf(Props.Create(() => new AckingMember(report.Ref)), "a");
        var b = Sys.ActorOf(Props.Create(() => new AckingMember(report.Ref)), "b");
        Ask<ConsumerSubscribed>(bus.Channels, new SubscribeDurable("orders", "billing", a, new ConsumerOptions { MaxAckPending = 1 }));
        Ask<ConsumerSubscribed>(bus.Channels, new SubscribeDurable("orders", "billing", b, new ConsumerOptions { MaxAckPending = 1 }));
        for (var n = 0; n < 50; n++)
            Ask<PublishAck>(bus.Channels, Order(n));
        var order = report.ReceiveN(50).Cast<(string, int, long SequenceNr, int)>().Select(d => d.SequenceNr).ToList();
        Assert.Equal(Enumerable.Range(1, 50).Select(i => (long)i), order);
    }

    [Fact]
    public void MaxAckPending_counts_per_partition_across_all_members_of_a_group()
    {
        var bus = LiminalBus.Start(Sys, Settings(2));
        var members = Enumerable.Range(0, 3).Select(_ => CreateTestProbe()).ToList();
        foreach (var member in members)
            Ask<ConsumerSubscribed>(bus.Channels, new SubscribeDurable("orders", "billing", member.Ref, new ConsumerOptions { MaxAckPending = 4 }));
        for (var n = 0; n < 40; n++)
            Ask<PublishAck>(bus.Channels, Order(n));

        var received = members.SelectMany(m => m.ReceiveWhile(TimeSpan.FromMilliseconds(250), message => message as Delivery).OfType<Delivery>()).ToList();
        Assert.Equal([4, 4], received.GroupBy(d => d.Partition).OrderBy(g => g.Key).Select(g => g.Count()));
        var first = received.First(d => d.Partition == 0);
        Ask<Acked>(bus.Channels, new Ack("orders", "billing", 0, first.SequenceNr!.Value));
        var next = members.SelectMany(m => m.ReceiveWhile(TimeSpan.FromMilliseconds(250), message => message as Delivery).OfType<Delivery>()).ToList();
        Assert.Equal([0], next.Select(d => d.Partition));
    }
}
