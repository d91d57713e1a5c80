using Akka.Actor;
using Liminal.Actors.Channels;

namespace Liminal.Recipes;

/// <summary>
/// Consume-transform-publish: a durable consumer's subscriber that publishes each message, transformed, to another
/// channel under an idempotency key derived from the source position, and acks the source once that publish is acked.
/// </summary>
public sealed class TransformAndPublish : ReceiveActor
{
    public static Props Props(IActorRef channels, string target, Func<Delivery, MessageEnvelope> transform) =>
        Akka.Actor.Props.Create(() => new TransformAndPublish(channels, target, transform));

    private sealed record Published(Delivery Source, object Answer);

    public TransformAndPublish(IActorRef channels, string target, Func<Delivery, MessageEnvelope> transform)
    {
        Receive<Delivery>(source =>
        {
            // A redelivery publishes the same key again: the target stores it once and answers the duplicate ack.
            var publish = new Publish(target, transform(source), IdempotencyKey: Position.Of(source));
            channels.Ask<object>(publish, TimeSpan.FromSeconds(30))
                .PipeTo(Self, success: answer => new Published(source, answer));
        });
        Receive<Published>(published =>
        {
            var source = published.Source;
            if (published.Answer is PublishAck)
                channels.Tell(new Ack(source.Channel, source.Consumer!, source.Partition, source.SequenceNr!.Value));
            else
                channels.Tell(new Nak(source.Channel, source.Consumer!, source.Partition, source.SequenceNr!.Value, TimeSpan.FromSeconds(5)));
        });
        // An unanswered publish may have been stored: no ack, so AckWait delivers the source again and the key decides.
        Receive<Status.Failure>(_ => { });
        Receive<Acked>(_ => { });
        Receive<AckRejected>(_ => { });
        Receive<Redelivering>(_ => { });
    }
}
