using System.Text.Json;
using System.Text.Json.Nodes;
using Akka.Actor;
using Liminal.Actors.Channels;

namespace Liminal.Recipes;

/// <summary>The consume-transform-publish recipe wired up: every order on one channel becomes an invoice on another.</summary>
public static class Invoicing
{
    public static MessageEnvelope Invoice(Delivery order) =>
        new(JsonSerializer.SerializeToUtf8Bytes(new JsonObject
        {
            ["invoiceFor"] = Position.Of(order),
            ["order"] = JsonNode.Parse(order.Envelope.Payload),
        }), "invoicing");

    public static async Task<IActorRef> SubscribeAsync(
        ActorSystem system, IActorRef channels, string orders, string invoices, Func<Delivery, MessageEnvelope> transform)
    {
        var subscriber = system.ActorOf(TransformAndPublish.Props(channels, invoices, transform));
        await channels.Ask<ConsumerSubscribed>(
            new SubscribeDurable(orders, "invoicing", subscriber, new ConsumerOptions()), TimeSpan.FromSeconds(30));
        return subscriber;
    }
}
