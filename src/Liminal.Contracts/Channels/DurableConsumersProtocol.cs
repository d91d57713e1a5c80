using System.Text.Json.Serialization;
using Akka.Actor;

namespace Liminal.Actors.Channels;

/// <summary>Where a durable consumer starts on its first subscribe (SPEC §2.6); later subscribes resume at its ack floor.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "from")]
[JsonDerivedType(typeof(All), "all")]
[JsonDerivedType(typeof(New), "new")]
[JsonDerivedType(typeof(Sequence), "sequence")]
public abstract record DeliverFrom : ILiminalMessage
{
    private DeliverFrom() { }

    /// <summary>From the start of the log.</summary>
    public sealed record All : DeliverFrom;

    /// <summary>Only messages stored after the subscribe.</summary>
    public sealed record New : DeliverFrom;

    /// <summary>From this sequence number on (1 or more).</summary>
    public sealed record Sequence(long SequenceNr) : DeliverFrom;
}

/// <summary>A durable consumer's options, fixed by its first <see cref="SubscribeDurable"/> (SPEC §2.6).</summary>
public sealed record ConsumerOptions : ILiminalMessage
{
    /// <summary>Messages out to members and not yet acked, per partition, at most: the consumer's backpressure.</summary>
    public int MaxAckPending { get; init; } = 1000;

    /// <summary>A message not acked within this long is delivered again, <c>Attempt + 1</c>.</summary>
    public TimeSpan AckWait { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Deliveries of one message at most; after the last one it goes to the dead-letter channel.</summary>
    public int MaxDeliver { get; init; } = 5;

    public DeliverFrom DeliverFrom { get; init; } = new DeliverFrom.All();

    /// <summary>"path op json-literal": <c>amount &gt; 10</c>, <c>customer.tier == "gold"</c>, <c>flag != true</c>; null delivers everything.</summary>
    public string? Filter { get; init; }

    /// <summary>Null: <c>{channel}.dlq</c>.</summary>
    public string? DeadLetterChannel { get; init; }
}

/// <summary>
/// Joins <c>Subscriber</c> to the durable consumer <c>Consumer</c> of a durable channel, creating the consumer on its first
/// subscribe. Several subscribers under one name are a consumer group. Answered <see cref="ConsumerSubscribed"/> or
/// <see cref="ChannelRejected"/>.
/// </summary>
public sealed record SubscribeDurable(string Channel, string Consumer, IActorRef Subscriber, ConsumerOptions Options) : ILiminalMessage;

public sealed record ConsumerSubscribed(string Channel, string Consumer) : ILiminalMessage;

/// <summary>An <see cref="Ack"/>, <see cref="Nak"/> or <see cref="Term"/>: settles one message of one consumer, or is <see cref="AckRejected"/>.</summary>
public interface IConsumerSettlement
{
    string Channel { get; }

    string Consumer { get; }

    int Partition { get; }

    long SequenceNr { get; }
}

/// <summary>The message is done for this consumer; answered <see cref="Acked"/> once durable, or <see cref="AckRejected"/>.</summary>
public sealed record Ack(string Channel, string Consumer, int Partition, long SequenceNr) : ILiminalMessage, IConsumerSettlement;

public sealed record Acked(string Channel, string Consumer, int Partition, long SequenceNr) : ILiminalMessage;

/// <summary>Deliver the message again (after <c>Delay</c>); answered <see cref="Redelivering"/>, or <see cref="AckRejected"/>.</summary>
public sealed record Nak(string Channel, string Consumer, int Partition, long SequenceNr, TimeSpan? Delay = null) : ILiminalMessage, IConsumerSettlement;

/// <summary>Give up on the message: it goes to the dead-letter channel; answered <see cref="DeadLettered"/>, or <see cref="AckRejected"/>.</summary>
public sealed record Term(string Channel, string Consumer, int Partition, long SequenceNr, string Reason) : ILiminalMessage, IConsumerSettlement;

public sealed record GetConsumerInfo(string Channel, string Consumer) : ILiminalMessage;

public sealed record ConsumerInfo(string Channel, string Consumer, PartitionConsumerInfo[] Partitions, int Members) : ILiminalMessage
{
    public bool Equals(ConsumerInfo? other) =>
        other is not null && Channel == other.Channel && Consumer == other.Consumer && Members == other.Members
        && Partitions.SequenceEqual(other.Partitions);

    public override int GetHashCode() => HashCode.Combine(Channel, Consumer, Members, Partitions.Length);
}

/// <summary>
/// One partition of a consumer: <c>AckFloor</c> is the highest sequence number up to which every message is done (0 when
/// none), <c>LastSequenceNr</c> the partition's last stored one (the lag is the difference), <c>Pending</c> the messages
/// out to members and not acked.
/// </summary>
public sealed record PartitionConsumerInfo(int Partition, long AckFloor, long LastSequenceNr, int Pending, long Redelivered, long DeadLettered)
    : ILiminalMessage;

/// <summary>Removes the consumer and its stored state; its members get no more deliveries. Answered <see cref="ConsumerDeleted"/>.</summary>
public sealed record DeleteConsumer(string Channel, string Consumer) : ILiminalMessage;

public sealed record ConsumerDeleted(string Channel, string Consumer) : ILiminalMessage;

public sealed record Redelivering(string Channel, string Consumer, int Partition, long SequenceNr) : ILiminalMessage;

public sealed record DeadLettered(string Channel, string Consumer, int Partition, long SequenceNr) : ILiminalMessage;

/// <summary>An <see cref="Ack"/>, <see cref="Nak"/> or <see cref="Term"/> for an unknown consumer, or a message that is not pending.</summary>
public sealed record AckRejected(string Channel, string Consumer, int Partition, long SequenceNr, string Reason) : ILiminalMessage
{
    /// <summary>The rejection of <paramref name="settlement"/> (its names may be null when it came malformed off the wire).</summary>
    public static AckRejected For(IConsumerSettlement settlement, string reason) =>
        new(settlement.Channel ?? string.Empty, settlement.Consumer ?? string.Empty, settlement.Partition, settlement.SequenceNr, reason);
}

/// <summary>Re-publishes a dead letter's original payload to its source channel as a new message; answered with that publish's reply.</summary>
public sealed record RedriveDeadLetter(string DeadLetterChannel, long SequenceNr) : ILiminalMessage;

/// <summary>Deletes every stored message of a durable channel (retention, explicitly); answered <see cref="ChannelPurged"/>.</summary>
public sealed record PurgeChannel(string Channel) : ILiminalMessage;

/// <summary>The channel is purged: per partition, the sequence number the next message stored there gets.</summary>
public sealed record ChannelPurged(string Channel, long[] FirstRetainedPerPartition) : ILiminalMessage
{
    public bool Equals(ChannelPurged? other) =>
        other is not null && Channel == other.Channel && FirstRetainedPerPartition.SequenceEqual(other.FirstRetainedPerPartition);

    public override int GetHashCode() => HashCode.Combine(Channel, FirstRetainedPerPartition.Length);
}

/// <summary>
/// Told to a consumer's members: messages <c>FromSequenceNr</c>..<c>ToSequenceNr</c> of a partition were deleted by
/// retention or a purge before this consumer was done with them, and will never be delivered (<c>Count</c> of them).
/// </summary>
public sealed record MessagesSkipped(string Channel, string Consumer, int Partition, long FromSequenceNr, long ToSequenceNr, long Count) : ILiminalMessage;
