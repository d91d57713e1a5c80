using Liminal.Actors.Channels;
using Liminal.Actors.Persistence;

namespace Liminal.Actors.Consumers;

/// <summary>What one durable consumer stores in one partition (PersistenceId <see cref="ConsumerPartition.PersistenceIdOf"/>).</summary>
public interface IConsumerEvent : ILiminalEvent;

/// <summary>
/// The consumer's first subscribe: its options, and where its deliveries start (after <c>StartAfter</c>), so that a
/// restart before the first ack never replays what <see cref="DeliverFrom.New"/> skipped.
/// </summary>
public sealed record ConsumerStarted(
    long StartAfter, int MaxAckPending, long AckWaitMillis, int MaxDeliver, string DeliverFrom, string? Filter, string? DeadLetterChannel)
    : IConsumerEvent
{
    public static ConsumerStarted Of(ConsumerOptions options, long startAfter) =>
        new(startAfter, options.MaxAckPending, (long)options.AckWait.TotalMilliseconds, options.MaxDeliver, Describe(options.DeliverFrom),
            options.Filter, options.DeadLetterChannel);

    /// <summary>Whether a later subscribe's options are the ones this consumer was created with.</summary>
    public bool SameOptions(ConsumerOptions options) => Of(options, StartAfter) == this;

    public ConsumerLimits Limits => new(MaxAckPending, TimeSpan.FromMilliseconds(AckWaitMillis), MaxDeliver);

    private static string Describe(Channels.DeliverFrom from) => from switch
    {
        Channels.DeliverFrom.New => "new",
        Channels.DeliverFrom.Sequence sequence => $"sequence {sequence.SequenceNr}",
        _ => "all",
    };
}

/// <summary>Messages done for this consumer: acked, or filtered out (never delivered).</summary>
public sealed record MessagesAcked(long[] SequenceNrs) : IConsumerEvent;

/// <summary>Delivery <c>Attempt</c> (2 or more) of a message was made: the count survives a restart, so <c>MaxDeliver</c> holds.</summary>
public sealed record MessageAttempted(long SequenceNr, int Attempt) : IConsumerEvent;

/// <summary>
/// The message went to the dead-letter channel (or, for a consumer of a dead-letter channel, was parked) and is done.
/// </summary>
public sealed record MessageDeadLettered(long SequenceNr, bool Parked) : IConsumerEvent;

/// <summary>Messages deleted from the log (retention, purge) before this consumer was done with them.</summary>
public sealed record ConsumerMessagesSkipped(long FirstSequenceNr, long LastSequenceNr) : IConsumerEvent;

/// <summary>A consumer partition's state: its start, its ledger's durable facts and its counts.</summary>
/// <remarks><c>DeadLettered</c> counts parked messages too; <c>Redelivered</c> the stored attempts after the first.</remarks>
public sealed record ConsumerPartitionSnapshot(
    ConsumerStarted? Started, ConsumerLedgerState Ledger, long DeadLettered, long Skipped, long Redelivered) : ILiminalSnapshot;
