namespace Liminal.Actors.Channels;

/// <summary>When a <c>ChannelConsumer</c> commits the offset of what its target has processed.</summary>
public abstract record CommitPolicy : ILiminalMessage
{
    private CommitPolicy() { }

    /// <summary>After every processed message.</summary>
    public sealed record EveryMessage : CommitPolicy;

    /// <summary>After every <c>Size</c> processed messages (and on <see cref="FlushOffsets"/>).</summary>
    public sealed record Batch(int Size) : CommitPolicy;

    /// <summary>Only on <see cref="FlushOffsets"/>.</summary>
    public sealed record OnFlush : CommitPolicy;
}

/// <summary>The consumer's target has processed the delivery at <c>SequenceNr</c>.</summary>
public sealed record Processed(long SequenceNr) : ILiminalMessage;

/// <summary>Commits the offset of everything processed so far; answered with <see cref="OffsetsFlushed"/>.</summary>
public sealed record FlushOffsets : ILiminalMessage
{
    public static FlushOffsets Instance { get; } = new();
}

public sealed record OffsetsFlushed(long? Offset) : ILiminalMessage;
