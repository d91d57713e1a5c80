using Akka.Actor;
using Liminal.Actors.Channels;

namespace Liminal.Actors.Consumers;

/// <summary>A consumer partition asks its channel partition for every message stored from now on, live.</summary>
internal sealed record WatchPartition(IActorRef Consumer) : INoSerializationVerificationNeeded;

/// <summary>
/// The channel partition's answer: <c>LastSequenceNr</c> is its last message already stored and handed to its subscribers;
/// every later one is told to the consumer as a <see cref="Delivery"/>. Everything up to it is read from the log.
/// </summary>
internal sealed record PartitionWatched(long LastSequenceNr) : INoSerializationVerificationNeeded;

/// <summary>Asked of a channel partition when a consumer starts with <see cref="DeliverFrom.New"/>.</summary>
internal sealed record GetLastSequenceNr : INoSerializationVerificationNeeded
{
    public static GetLastSequenceNr Instance { get; } = new();
}

internal sealed record LastSequenceNr(int Partition, long SequenceNr) : INoSerializationVerificationNeeded;

/// <summary>Starts (first subscribe: stores the options and start) or joins a consumer partition.</summary>
internal sealed record StartConsumer(ConsumerOptions Options, long StartAfter) : INoSerializationVerificationNeeded;

/// <summary>The consumer partition runs with these options (or was refused: <c>Problem</c>).</summary>
internal sealed record ConsumerStartResult(int Partition, string? Problem) : INoSerializationVerificationNeeded;

/// <summary>The group's members now, told to each of its partitions (and asked for by one that just started).</summary>
internal sealed record MembersChanged(IActorRef[] Members) : INoSerializationVerificationNeeded;

internal sealed record MembersWanted : INoSerializationVerificationNeeded
{
    public static MembersWanted Instance { get; } = new();
}

/// <summary>A member stopped or left: what it had is given to the others at once.</summary>
internal sealed record MemberLeft(IActorRef Member) : INoSerializationVerificationNeeded;

internal sealed record GetPartitionInfo : INoSerializationVerificationNeeded
{
    public static GetPartitionInfo Instance { get; } = new();
}

/// <summary>The partition's figures; null when the consumer was never started there.</summary>
internal sealed record PartitionInfoResult(int Partition, PartitionConsumerInfo? Info) : INoSerializationVerificationNeeded;

/// <summary>Deletes the consumer partition's stored state; answered <see cref="ConsumerStateDeleted"/> (or a failure), then it stops.</summary>
internal sealed record DeleteConsumerState : INoSerializationVerificationNeeded
{
    public static DeleteConsumerState Instance { get; } = new();
}

internal sealed record ConsumerStateDeleted(int Partition, string? Problem) : INoSerializationVerificationNeeded;

/// <summary>
/// A consumer group asks its router to let it stop (idle without members, or deleted). The router stops routing to it,
/// tells <c>ReplyTo</c> the <c>Reply</c> (a delete's answer), holds the consumer's next requests for its next group
/// until this one has stopped, and answers <see cref="ConsumerGroupRetired"/>.
/// </summary>
internal sealed record RetireConsumerGroup(object? Reply, IActorRef? ReplyTo) : INoSerializationVerificationNeeded;

/// <summary>The router routes nothing more to the group: it stops once it has handed back what reached it meanwhile.</summary>
internal sealed record ConsumerGroupRetired : INoSerializationVerificationNeeded
{
    public static ConsumerGroupRetired Instance { get; } = new();
}
