namespace Liminal.Actors.Offsets;

/// <summary>Every request addressed to one consumer's (or pipeline's) offsets and receipts.</summary>
public interface IOffsetsCommand
{
    /// <summary>The consumer or pipeline that owns the record; its PersistenceId is <c>offsets-{owner}</c>.</summary>
    string Owner { get; }
}

/// <summary>Moves a consumer's position in a stream forward (never backwards).</summary>
public sealed record CommitOffset(string Consumer, string Stream, long Offset) : IOffsetsCommand, ILiminalMessage
{
    string IOffsetsCommand.Owner => Consumer;
}

public sealed record OffsetCommitted(string Consumer, string Stream, long Offset) : ILiminalMessage;

/// <summary>The attempted offset is behind the stored one; the stored one stays.</summary>
public sealed record OffsetRejected(string Consumer, string Stream, long Stored, long Attempted) : ILiminalMessage;

public sealed record GetOffset(string Consumer, string Stream) : IOffsetsCommand, ILiminalMessage
{
    string IOffsetsCommand.Owner => Consumer;
}

/// <summary><c>Offset</c> is null when the consumer never committed one for the stream.</summary>
public sealed record CurrentOffset(string Consumer, string Stream, long? Offset) : ILiminalMessage;

/// <summary>Remembers that a pipeline processed an event.</summary>
public sealed record RecordProcessed(string Pipeline, string EventId) : IOffsetsCommand, ILiminalMessage
{
    string IOffsetsCommand.Owner => Pipeline;
}

public sealed record ProcessedRecorded(string Pipeline, string EventId) : ILiminalMessage;

public sealed record WasProcessed(string Pipeline, string EventId) : IOffsetsCommand, ILiminalMessage
{
    string IOffsetsCommand.Owner => Pipeline;
}

public sealed record ProcessedStatus(string Pipeline, string EventId, bool Processed) : ILiminalMessage;

/// <summary>A malformed offsets request (empty or oversized names, negative offset); nothing was persisted.</summary>
public sealed record OffsetRequestRejected(string Owner, string Reason) : ILiminalMessage;
