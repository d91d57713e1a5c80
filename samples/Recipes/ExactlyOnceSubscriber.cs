using Akka.Actor;
using Liminal.Actors.Channels;
using Liminal.Actors.Conversations;

namespace Liminal.Recipes;

/// <summary>Where a delivered message sits in its channel's log: the same on every redelivery of it.</summary>
public static class Position
{
    /// <summary><c>{channel}/{partition}/{sequenceNr}</c>: an idempotency key for whatever the message causes.</summary>
    public static string Of(Delivery delivery) => $"{delivery.Channel}/{delivery.Partition}/{delivery.SequenceNr}";
}

/// <summary>
/// A durable consumer's subscriber that runs each message's steps exactly once with <see cref="StepRunner"/>,
/// keyed by the message's position, and acks the message only after its steps are recorded finished.
/// </summary>
public sealed class ExactlyOnceSubscriber : ReceiveActor
{
    public static Props Props(IActorRef channels, IActorRef conversations, Func<Delivery, IReadOnlyList<ConversationStep>> stepsOf) =>
        Akka.Actor.Props.Create(() => new ExactlyOnceSubscriber(channels, conversations, stepsOf));

    private sealed record Ran(Delivery Delivery, StepRunOutcome Outcome);

    public ExactlyOnceSubscriber(IActorRef channels, IActorRef conversations, Func<Delivery, IReadOnlyList<ConversationStep>> stepsOf)
    {
        var runner = new StepRunner(conversations);
        Receive<Delivery>(delivery =>
        {
            // One conversation per consumer and partition (two consumers of a channel each process every message),
            // the sequence number as message id: a redelivery resumes or skips instead of starting again.
            var conversation = $"{delivery.Consumer}/{delivery.Channel}/{delivery.Partition}";
            runner.RunAsync(conversation, $"{delivery.SequenceNr}", delivery.Envelope.Payload, stepsOf(delivery))
                .PipeTo(Self, success: outcome => new Ran(delivery, outcome));
        });
        Receive<Ran>(ran =>
        {
            var (channel, consumer, partition, sequenceNr) =
                (ran.Delivery.Channel, ran.Delivery.Consumer!, ran.Delivery.Partition, ran.Delivery.SequenceNr!.Value);
            switch (ran.Outcome)
            {
                case StepRunOutcome.Finished or StepRunOutcome.Skipped:
                    channels.Tell(new Ack(channel, consumer, partition, sequenceNr));
                    break;
                case StepRunOutcome.Failed:
                    // The error is recorded; the redelivery resumes at the failed step (MaxDeliver, then dead letter).
                    channels.Tell(new Nak(channel, consumer, partition, sequenceNr, TimeSpan.FromSeconds(5)));
                    break;
                case StepRunOutcome.InProgress or StepRunOutcome.Rejected:
                    // Another delivery of it runs, or the bus refused: no ack, so AckWait delivers it again.
                    break;
            }
        });
        // A run that threw (e.g. the bus did not answer) is not acked either: AckWait delivers it again.
        Receive<Status.Failure>(_ => { });
        Receive<Acked>(_ => { });
        Receive<AckRejected>(_ => { });
        Receive<Redelivering>(_ => { });
    }
}
