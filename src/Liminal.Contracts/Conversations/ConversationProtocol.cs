namespace Liminal.Actors.Conversations;

/// <summary>Every request addressed to one conversation.</summary>
public interface IConversationCommand
{
    string ConversationId { get; }

    /// <summary>The message a command is about; empty for <see cref="GetConversationState"/>.</summary>
    static string MessageIdOf(IConversationCommand command) => command switch
    {
        ReceiveMessage c => c.MessageId,
        RecordProcessingStarted c => c.MessageId,
        RecordStepCompleted c => c.MessageId,
        RecordProcessingFinished c => c.MessageId,
        RecordError c => c.MessageId,
        GetStepOutput c => c.MessageId,
        _ => string.Empty,
    };
}

/// <summary>A message was (re)delivered to a participant: what should it do?</summary>
public sealed record ReceiveMessage(string ConversationId, string MessageId) : IConversationCommand, ILiminalMessage;

/// <summary>The answer to <see cref="ReceiveMessage"/>.</summary>
public abstract record RedeliveryDecision : ILiminalMessage
{
    private RedeliveryDecision() { }

    /// <summary>First delivery: process from step 0.</summary>
    public sealed record Start : RedeliveryDecision;

    /// <summary>Already finished: do nothing.</summary>
    public sealed record Skip : RedeliveryDecision;

    /// <summary>Seen before and not finished: continue at the first step not yet completed (this delivery now holds the lease).</summary>
    public sealed record ResumeFrom(int StepIndex) : RedeliveryDecision;

    /// <summary>
    /// Another delivery of the message is being processed: its lease, renewed by each record for the message, runs
    /// until <c>LeaseExpiresAtMillis</c> (bus clock). Do not process it; redeliver after that time if it did not finish.
    /// </summary>
    public sealed record InProgress(long LeaseExpiresAtMillis) : RedeliveryDecision;
}

public sealed record RecordProcessingStarted(string ConversationId, string MessageId) : IConversationCommand, ILiminalMessage;

/// <summary>Step <c>StepIndex</c> of the message completed with <c>Output</c>; recording a step again overwrites its output.</summary>
public sealed record RecordStepCompleted(string ConversationId, string MessageId, int StepIndex, byte[] Output) : IConversationCommand, ILiminalMessage
{
    public bool Equals(RecordStepCompleted? other) =>
        other is not null && ConversationId == other.ConversationId && MessageId == other.MessageId
        && StepIndex == other.StepIndex && Output.AsSpan().SequenceEqual(other.Output);

    public override int GetHashCode() => HashCode.Combine(ConversationId, MessageId, StepIndex);
}

public sealed record RecordProcessingFinished(string ConversationId, string MessageId) : IConversationCommand, ILiminalMessage;

/// <summary>Processing failed; the latest error wins and the message may still be resumed and finished.</summary>
public sealed record RecordError(string ConversationId, string MessageId, string Error) : IConversationCommand, ILiminalMessage;

/// <summary>The event is durable at <c>SequenceNr</c> of the conversation's log.</summary>
public sealed record EventRecorded(string ConversationId, long SequenceNr) : ILiminalMessage;

/// <summary>A typed refusal; nothing was persisted for the request. <c>Reason</c> is one of <see cref="ConversationRejections"/>.</summary>
public sealed record ConversationRejected(string ConversationId, string MessageId, string Reason) : ILiminalMessage
{
    /// <summary>Human-readable detail of what was wrong.</summary>
    public string? Detail { get; init; }
}

/// <summary>The reasons a conversation request is refused.</summary>
public static class ConversationRejections
{
    public const string InvalidConversationId = "invalid-conversation-id";
    public const string InvalidMessageId = "invalid-message-id";
    public const string NotReceived = "not-received";
    public const string NegativeStepIndex = "negative-step-index";
    public const string InvalidOutput = "invalid-output";
    public const string EmptyError = "empty-error";
    /// <summary>An error text that is not well-formed UTF-16 or larger than <c>liminal.max-payload-bytes</c>.</summary>
    public const string InvalidError = "invalid-error";
    public const string PersistFailed = "persist-failed";
    /// <summary><see cref="GetConversationState"/> from a remote caller whose answer would not fit Akka.Remote's frame.</summary>
    public const string StateTooLarge = "state-too-large";
    public const string Overloaded = "overloaded";
}

/// <summary>
/// Asks for a <see cref="ConversationSnapshot"/>. A remote caller whose answer would exceed Akka.Remote's frame gets
/// <see cref="ConversationRejected"/> (<see cref="ConversationRejections.StateTooLarge"/>) instead.
/// </summary>
public sealed record GetConversationState(string ConversationId) : IConversationCommand, ILiminalMessage;

/// <summary>
/// Asks for the output a message's step recorded: what a resume needs (the input of the next step), without
/// reading the whole conversation. Answered with <see cref="StepOutput"/>.
/// </summary>
public sealed record GetStepOutput(string ConversationId, string MessageId, int StepIndex) : IConversationCommand, ILiminalMessage;

/// <summary>The output recorded for the step; null when the step was not recorded or its output was compacted away.</summary>
public sealed record StepOutput(string ConversationId, string MessageId, int StepIndex, byte[]? Output) : ILiminalMessage
{
    public bool Equals(StepOutput? other) =>
        other is not null && ConversationId == other.ConversationId && MessageId == other.MessageId && StepIndex == other.StepIndex
        && (Output is null ? other.Output is null : other.Output is not null && Output.AsSpan().SequenceEqual(other.Output));

    public override int GetHashCode() => HashCode.Combine(ConversationId, MessageId, StepIndex, Output?.Length);
}

/// <summary>One completed step and its output.</summary>
public sealed record CompletedStep(string MessageId, int StepIndex, byte[] Output)
{
    public bool Equals(CompletedStep? other) =>
        other is not null && MessageId == other.MessageId && StepIndex == other.StepIndex && Output.AsSpan().SequenceEqual(other.Output);

    public override int GetHashCode() => HashCode.Combine(MessageId, StepIndex, Output.Length);
}

/// <summary>The latest error recorded for a message.</summary>
public sealed record MessageError(string MessageId, string Error);

/// <summary>
/// A conversation's state: every received message id, those started and not finished, those finished, the latest
/// error per message, every completed step with its output (finished messages may have been compacted to drop
/// theirs), and the last sequence number of its log. Lists are ordered by message id, then step. Messages past the
/// retention (<c>liminal.conversations.retention</c>) are not listed: a redelivery of one is new.
/// </summary>
public sealed record ConversationSnapshot(
    string ConversationId,
    string[] Received,
    string[] InProgress,
    string[] Finished,
    MessageError[] Errored,
    CompletedStep[] CompletedSteps,
    long LastSequenceNr) : ILiminalMessage
{
    public bool Equals(ConversationSnapshot? other) =>
        other is not null
        && ConversationId == other.ConversationId
        && LastSequenceNr == other.LastSequenceNr
        && Received.SequenceEqual(other.Received)
        && InProgress.SequenceEqual(other.InProgress)
        && Finished.SequenceEqual(other.Finished)
        && Errored.SequenceEqual(other.Errored)
        && CompletedSteps.SequenceEqual(other.CompletedSteps);

    public override int GetHashCode() => HashCode.Combine(ConversationId, LastSequenceNr, Received.Length, CompletedSteps.Length);
}
