using Liminal.Actors.Persistence;

namespace Liminal.Actors.Conversations;

/// <summary>Events of a conversation's log.</summary>
public interface IConversationEvent : ILiminalEvent
{
    string MessageId { get; }
}

public sealed record MessageReceived(string MessageId, long ReceivedAtMillis) : IConversationEvent;

public sealed record ProcessingStarted(string MessageId) : IConversationEvent;

public sealed record StepCompleted(string MessageId, int StepIndex, byte[] Output) : IConversationEvent;

public sealed record ProcessingFinished(string MessageId) : IConversationEvent;

public sealed record ErrorOccurred(string MessageId, string Error) : IConversationEvent;

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
    CompletedStep[] Steps);

/// <summary>A conversation's whole state, saved every <c>snapshot-every</c> events.</summary>
public sealed record ConversationStateSnapshot(MessageProgressSnapshot[] Messages, string[] FinishedWithOutputs) : ILiminalSnapshot;
