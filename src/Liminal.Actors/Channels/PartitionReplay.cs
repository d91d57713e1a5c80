using Akka.Actor;
using Akka.Persistence;
using Akka.Streams;

namespace Liminal.Actors.Channels;

/// <summary>
/// Streams a durable partition's stored messages to a subscriber, outside any actor (it touches no actor state, it
/// only tells the subscriber): first the partition's highest stored sequence number, then the messages from the
/// requested position up to it, then <see cref="ReplayCompleted"/> with that number.
/// </summary>
/// <remarks>
/// Reading the highest number first bounds the replay: <c>LastSequenceNr</c> is never above what is stored (also when
/// the replay starts past the end of the log) and messages stored meanwhile are not half-included.
/// </remarks>
internal static class PartitionReplay
{
    private static readonly TimeSpan JournalTimeout = TimeSpan.FromSeconds(30);

    public static void Run(ActorSystem system, string channel, int partition, long fromSequenceNr, IActorRef subscriber) =>
        _ = RunAsync(system, channel, partition, fromSequenceNr, subscriber);

    private static async Task RunAsync(ActorSystem system, string channel, int partition, long fromSequenceNr, IActorRef subscriber)
    {
        object outcome;
        try
        {
            var highest = await HighestStoredAsync(system, ChannelPartition.PersistenceIdOf(channel, partition));
            if (fromSequenceNr <= highest)
            {
                await ChannelPartition.ReadLog(system, channel, partition, fromSequenceNr, highest)
                    .RunForeach(envelope => subscriber.Tell(
                        new Delivery(channel, partition, envelope.SequenceNr, ((MessageAppended)envelope.Event).ToEnvelope()), ActorRefs.NoSender),
                        system.Materializer());
            }
            outcome = new ReplayCompleted(channel, partition, highest);
        }
        catch (Exception error) when (error is not OutOfMemoryException)
        {
            // Whatever the journal or the stream threw, the subscriber is told, typed.
            outcome = new ChannelRejected(channel, $"replay failed: {error.GetBaseException().Message}");
        }
        subscriber.Tell(outcome, ActorRefs.NoSender);
    }

    /// <summary>
    /// The journal's own answer (Akka.Persistence's recovery protocol, as its journal TCK uses it): a replay of no
    /// messages (to = 0) answers with the highest stored sequence number.
    /// </summary>
    private static async Task<long> HighestStoredAsync(ActorSystem system, string persistenceId)
    {
        var journal = Akka.Persistence.Persistence.Instance.Apply(system).JournalFor(null);
        var reply = await journal.Ask<object>(replyTo => new ReplayMessages(1, 0, 0, persistenceId, replyTo), JournalTimeout, CancellationToken.None);
        return reply switch
        {
            RecoverySuccess success => success.HighestSequenceNr,
            ReplayMessagesFailure failure => throw new InvalidOperationException(failure.Cause.Message, failure.Cause),
            _ => throw new InvalidOperationException($"unexpected journal answer {reply.GetType().Name}"),
        };
    }
}
