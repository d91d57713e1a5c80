using Akka.Actor;
using Liminal.Actors.Channels;
using Liminal.Actors.Conversations;

namespace Liminal.Recipes;

/// <summary>The system the steps act on. It applies each idempotency key once (a unique key in its database, a payment API's key).</summary>
public interface IOrderSystem
{
    Task<byte[]> ReserveAsync(byte[] order, string idempotencyKey, CancellationToken cancellationToken);
    Task<byte[]> NotifyAsync(byte[] reservation, string idempotencyKey, CancellationToken cancellationToken);
}

/// <summary>The exactly-once recipe wired up: a durable consumer "fulfilment" whose subscriber runs two steps per order.</summary>
public static class Fulfilment
{
    public static IReadOnlyList<ConversationStep> StepsOf(Delivery delivery, IOrderSystem orders)
    {
        var key = Position.Of(delivery);
        return
        [
            (order, ct) => orders.ReserveAsync(order, $"{key}/reserve", ct),
            (reservation, ct) => orders.NotifyAsync(reservation, $"{key}/notify", ct),
        ];
    }

    public static async Task<IActorRef> SubscribeAsync(
        ActorSystem system, IActorRef channels, IActorRef conversations, string channel, IOrderSystem orders)
    {
        var subscriber = system.ActorOf(ExactlyOnceSubscriber.Props(channels, conversations, delivery => StepsOf(delivery, orders)));
        await channels.Ask<ConsumerSubscribed>(
            new SubscribeDurable(channel, "fulfilment", subscriber, new ConsumerOptions()), TimeSpan.FromSeconds(30));
        return subscriber;
    }
}
