using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using Liminal.Actors.Channels;

namespace Liminal.Actors.Consumers;

/// <summary>
/// <see cref="RedriveDeadLetter"/>: reads the dead letter from its channel's log and re-publishes the original payload
/// to its source channel as a new message (no idempotency key: every consumer of that channel sees it again). The
/// requester gets that publish's own reply, from the channel it went to.
/// </summary>
internal static class Redrive
{
    public static void Run(ActorSystem system, string deadLetterChannel, long sequenceNr, IActorRef channels, IActorRef requester) =>
        _ = RunAsync(system, deadLetterChannel, sequenceNr, channels, requester);

    private static async Task RunAsync(ActorSystem system, string deadLetterChannel, long sequenceNr, IActorRef channels, IActorRef requester)
    {
        try
        {
            var stored = await ChannelPartition.ReadLog(system, deadLetterChannel, 0, sequenceNr, sequenceNr)
                .RunWith(Sink.Seq<Akka.Persistence.Query.EventEnvelope>(), system.Materializer());
            if (stored.Count == 0 || stored[0].Event is not MessageAppended message || DeadLetters.Original(message.Payload) is not { } original)
            {
                requester.Tell(new PublishRejected(deadLetterChannel, PublishFailure.SchemaMismatch,
                    stored.Count == 0 ? $"no message {sequenceNr} in partition 0 of '{deadLetterChannel}'" : $"message {sequenceNr} of '{deadLetterChannel}' is not a dead letter"));
                return;
            }
            var envelope = message.ToEnvelope();
            channels.Tell(new Publish(original.Channel, new MessageEnvelope(original.Payload, original.PublisherId, envelope.Causal, envelope.Headers)), requester);
        }
        catch (Exception error) when (error is not OutOfMemoryException)
        {
            requester.Tell(new PublishRejected(deadLetterChannel, PublishFailure.PersistFailed, $"reading the dead letter failed: {error.GetBaseException().Message}"));
        }
    }
}
