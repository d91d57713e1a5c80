using System.Text;
using System.Text.Json;
using Akka.Actor;
using Liminal.Actors.Channels;
using Liminal.Actors.Tests.TestSupport;

namespace Liminal.Actors.Tests.Attacks;

/// <summary>
/// Issue 13, item 3 and "routers that cannot lose state to an exception": a channel router holds the channel's
/// subscribers. On f8113fc every dead letter addressed to one of its children reached it, and it took the child's
/// name for a partition number (<c>int.Parse("$b")</c>): the router restarted with no subscribers. Any exception
/// inside a router did the same, and the publish being handled got no answer; inside the registry, every channel's
/// router was restarted.
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

    [Fact]
    public void An_exception_inside_a_router_loses_no_subscriber_and_leaves_no_publish_unanswered()
    {
        // An ephemeral channel hands each message to its subscribers from the router itself. One subscriber is an
        // in-process ref whose Tell throws once (a custom transport that fails): the exception is raised inside the router.
        var bus = LiminalBus.Start(Sys, DefaultSettings with { Channels = [new ChannelDefinition("ticks", Durable: false)] });
        var healthy = CreateTestProbe();
        var flakyInbox = CreateTestProbe();
        var provider = ((ExtendedActorSystem)Sys).Provider;
        var flaky = new ThrowsOnFirstDelivery(new RootActorPath(provider.DefaultAddress) / "user" / "flaky-subscriber", provider, flakyInbox.Ref);
        Ask<Subscribed>(bus.Channels, new Subscribe("ticks", healthy.Ref));
        Ask<Subscribed>(bus.Channels, new Subscribe("ticks", flaky));

        // The throwing subscriber does not count; the publish is still answered (ThrowingHandlerAttacks: acked).
        var first = Ask<object>(bus.Channels, Message("ticks", 1));
        Assert.True(first is PublishAck { DeliveredCount: 1 }, $"expected an ack for the healthy subscriber, got {first}");

        // Both subscriptions are still there, without subscribing again: the router kept its state.
        var second = Ask<PublishAck>(bus.Channels, Message("ticks", 2));
        Assert.Equal((true, 2), (second.Delivered, second.DeliveredCount));
        Assert.Equal(2, N(healthy.FishForMessage<Delivery>(d => N(d) == 2)));
        Assert.Equal(2, N(flakyInbox.ExpectMsg<Delivery>()));
    }

    [Fact]
    public void A_request_whose_senders_ref_throws_costs_the_registry_none_of_its_channels_subscribers()
    {
        // The registry answers an unknown channel itself; telling this sender throws inside the registry. On f8113fc the
        // registry restarted, and a restart stops every router with its subscribers.
        var bus = LiminalBus.Start(Sys, DefaultSettings with { Channels = [new ChannelDefinition("orders", Durable: true)] });
        var subscriber = CreateTestProbe();
        Ask<Subscribed>(bus.Channels, new Subscribe("orders", subscriber.Ref));
        var provider = ((ExtendedActorSystem)Sys).Provider;
        var throwing = new ThrowsOnEveryMessage(new RootActorPath(provider.DefaultAddress) / "user" / "throwing-sender", provider);

        bus.Channels.Tell(Message("no-such-channel", 1), throwing);

        var ack = Ask<PublishAck>(bus.Channels, Message("orders", 2));
        Assert.Equal((true, 1), (ack.Delivered, ack.DeliveredCount));
        Assert.Equal(2, N(subscriber.ExpectMsg<Delivery>()));
    }
}
