using Akka.Actor;
using Akka.Persistence;
using Liminal.Actors.Persistence;

namespace Liminal.Actors.Channels;

/// <summary>Appends a message to a durable partition and hands it to the given subscribers once durable.</summary>
public sealed record AppendToPartition(MessageEnvelope Envelope, IActorRef[] Subscribers) : INoSerializationVerificationNeeded;

/// <summary>The message is durable at <c>SequenceNr</c> and was handed to <c>DeliveredCount</c> subscribers.</summary>
public sealed record PartitionAppended(long SequenceNr, int DeliveredCount) : INoSerializationVerificationNeeded;

/// <summary>The append was not stored.</summary>
public sealed record PartitionAppendFailed(string Detail) : INoSerializationVerificationNeeded;

/// <summary>
/// One partition of a durable channel (PersistenceId <c>channel-{name}-{partition}</c>): its journal is the
/// partition's log and the sequence number is the position. Appends are group-committed; subscribers are handed
/// each message after it is durable, in sequence order.
/// </summary>
public sealed class ChannelPartition : GroupCommitActor<MessageAppended>
{
    private readonly string _channel;
    private readonly int _partition;
    private readonly Queue<(IActorRef[] Subscribers, MessageEnvelope Envelope)> _awaitingFanOut = new();

    public ChannelPartition(string channel, int partition)
    {
        _channel = channel;
        _partition = partition;
        PersistenceId = $"channel-{channel}-{partition}";
    }

    public static Props Props(string channel, int partition) =>
        Akka.Actor.Props.Create(() => new ChannelPartition(channel, partition));

    public override string PersistenceId { get; }

    /// <summary>The log is read by replay queries, not by the actor: it needs only the highest sequence number.</summary>
    public override Recovery Recovery => Recovery.None;

    protected override long SnapshotEvery => long.MaxValue;

    protected override void RestoreSnapshot(object snapshot) { }

    protected override void ApplyDurable(MessageAppended @event) { }

    protected override void ApplyProjected(MessageAppended @event) { }

    protected override object DurableSnapshot() => throw new NotSupportedException("channel partitions keep no snapshot");

    protected override void OnRecovered() { }

    protected override void OnRequest(object message)
    {
        if (message is not AppendToPartition append)
        {
            Unhandled(message);
            return;
        }
        _awaitingFanOut.Enqueue((append.Subscribers, append.Envelope));
        Commit([MessageAppended.From(append.Envelope)], Sender,
            new PartitionAppended(ProjectedSequenceNr + 1, append.Subscribers.Length),
            new PartitionAppendFailed("journal write failed"));
    }

    protected override void OnEventDurable(MessageAppended @event)
    {
        var (subscribers, envelope) = _awaitingFanOut.Dequeue();
        var delivery = new Delivery(_channel, _partition, LastSequenceNr, envelope);
        foreach (var subscriber in subscribers)
            subscriber.Tell(delivery, ActorRefs.NoSender);
    }
}
