using Liminal.Actors.Persistence;

namespace Liminal.Actors.Offsets;

/// <summary>Events of a consumer's offsets log.</summary>
public interface IOffsetsEvent : ILiminalEvent;

public sealed record OffsetAdvanced(string Stream, long Offset) : IOffsetsEvent;

/// <summary>
/// The pipeline processed an event. Recording is the only thing that grows a pipeline's processed ids, so it is also
/// where they are forgotten: every id processed at or before <see cref="ForgetsUpToMillis"/> is dropped first.
/// </summary>
/// <remarks>
/// Both times are null in events written before retention. Ids recorded by those are kept until the first event
/// that carries a time, and from then on count their retention from that time.
/// </remarks>
public sealed record EventProcessed(string EventId) : IOffsetsEvent
{
    public long? ProcessedAtMillis { get; init; }

    /// <summary>The record time minus <c>liminal.offsets.retention</c>.</summary>
    public long? ForgetsUpToMillis { get; init; }
}

/// <summary>A consumer's offsets and processed event ids, saved every <c>snapshot-every</c> events.</summary>
public sealed record OffsetsSnapshot(Dictionary<string, long> Offsets, string[] Processed) : ILiminalSnapshot
{
    /// <summary>When each of <see cref="OffsetsSnapshot.Processed"/> was processed (null: before retention); null in older snapshots.</summary>
    public long?[]? ProcessedAtMillis { get; init; }
}
