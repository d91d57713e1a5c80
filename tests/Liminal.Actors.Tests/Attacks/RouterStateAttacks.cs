using System.Text;
using System.Text.Json;
using Liminal.Actors.Channels;
using Liminal.Actors.Tests.TestSupport;

namespace Liminal.Actors.Tests.Attacks;

/// <summary>
/// Issue 13, item 3: a channel router holds the channel's subscribers. On f8113fc every dead letter addressed to one of
/// its children reached it, and it took the child's name for a partition number (<c>int.Parse("$b")</c>): the router
/// restarted with no subscribers.
/// </summary>
public sealed class RouterStateAttacks : FaultInjectionTestKit
{
    private static Publish Message(string channel, int n) =>
        new(channel, new MessageEnvelope(Encoding.UTF8.GetBytes($$"""{"n":{{n}}}"""), "shop"));

    private static int N(Delivery delivery) => JsonDocument.Parse(delivery.Envelope.Payload).RootElement.GetProperty("n").GetInt32();

    [Fact]
    public void A_bounded_subscriber_that_acks_after_unsubscribing_costs_the_channel_none_of_its_other_subscribers()
    {
        var bus = LiminalBus.Start(Sys, DefaultSettings with { Channels = [new ChannelDefinition("orders", Durable: true)] });
        var bounded = CreateTestProbe();
        var other = CreateTestProbe();
        Ask<Subscribed>(bus.Channels, new Subscribe("orders", bounded.Ref) { MaxUnacknowledged = 1 });
        Ask<Subscribed>(bus.Channels, new Subscribe("orders", other.Ref));
        Ask<PublishAck>(bus.Channels, Message("orders", 1));
        bounded.ExpectMsg<Delivery>();
        var outbox = bounded.LastSender;   // the router's child that bounds this subscriber
        other.ExpectMsg<Delivery>();

        Watch(outbox);
        Ask<Unsubscribed>(bus.Channels, new Unsubscribe("orders", bounded.Ref));
        ExpectTerminated(outbox);
        // The subscriber acks what it was handling when it unsubscribed: a dead letter addressed to the router's child.
        outbox.Tell(DeliveryAck.Instance, bounded.Ref);

        var ack = Ask<PublishAck>(bus.Channels, Message("orders", 2));
        Assert.Equal((true, 1), (ack.Delivered, ack.DeliveredCount));
        Assert.Equal(2, N(other.ExpectMsg<Delivery>()));
    }
}
