using Liminal.Actors.Persistence;

namespace Liminal.Actors.Conversations;

/// <summary>Events of a conversation's log.</summary>
/// <remarks>
/// Times travel in the events (never read in <c>Apply</c>), as extra members that events written before leases and
/// retention existed lack: such an event leaves the lease and the retention anchor as they were, so old logs replay to
/// the answers they gave.
/// </remarks>
public interface IConversationEvent : ILiminalEvent
{
    string MessageId { get; }
}

/// <summary>
/// The message was received for the first time (or again after it was forgotten). Receiving is the only thing that
/// grows a conversation, so it is also where the conversation forgets: every message whose retention anchor is at or
/// before <see cref="ForgetsUpToMillis"/> is dropped before this one is added.
/// </summary>
public sealed record MessageReceived(string MessageId, long ReceivedAtMillis) : IConversationEvent
{
    /// <summary>The lease the receiver took; null in events written before leases.</summary>
    public long? LeaseExpiresAtMillis { get; init; }

    /// <summary>Messages anchored at or before this time are forgotten (the receive time minus the retention); null before retention.</summary>
    public long? ForgetsUpToMillis { get; init; }
}

/// <summary>Processing started; renews the lease.</summary>
public sealed record ProcessingStarted(string MessageId) : IConversationEvent
{
    public long? LeaseExpiresAtMillis { get; init; }
}

/// <summary>A step completed with its output; renews the lease.</summary>
public sealed record StepCompleted(string MessageId, int StepIndex, byte[] Output) : IConversationEvent
{
    public long? LeaseExpiresAtMillis { get; init; }
}

/// <summary>Finished; ends the lease and anchors the message's retention at <see cref="FinishedAtMillis"/>.</summary>
public sealed record ProcessingFinished(string MessageId) : IConversationEvent
{
    public long? FinishedAtMillis { get; init; }
}

/// <summary>An error was recorded: the runner stopped, so the lease ends and a redelivery may resume at once.</summary>
public sealed record ErrorOccurred(string MessageId, string Error) : IConversationEvent
{
    public long? OccurredAtMillis { get; init; }
}

/// <summary>
/// A redelivery took the lease of a message that was received before and is not finished (its previous runner's lease
/// had expired or ended): until <see cref="LeaseExpiresAtMillis"/> other redeliveries answer <c>InProgress</c>.
/// </summary>
public sealed record MessageLeased(string MessageId, long LeaseExpiresAtMillis) : IConversationEvent;

/// <summary>
/// Finished messages whose step outputs were dropped to bound the conversation's memory (they stay finished).
/// <c>MessageId</c> is the finish that triggered the compaction.
/// </summary>
public sealed record StepOutputsCompacted(string MessageId, string[] CompactedMessageIds) : IConversationEvent;

/// <summary>One message's progress in a snapshot.</summary>
public sealed record MessageProgressSnapshot(
    string MessageId,
    long ReceivedAtMillis,
    bool Started,
    bool Finished,
    string? Error,
    CompletedStep[] Steps)
{
    public long? LeaseExpiresAtMillis { get; init; }

    /// <summary>The retention anchor; null in snapshots taken before retention (then the receive time).</summary>
    public long? RetainedFromMillis { get; init; }
}

/// <summary>A conversation's whole state, saved every <c>snapshot-every</c> events.</summary>
public sealed record ConversationStateSnapshot(MessageProgressSnapshot[] Messages, string[] FinishedWithOutputs) : ILiminalSnapshot;
