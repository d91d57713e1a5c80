using Liminal.Actors.Persistence;

namespace Liminal.Actors.Offsets;

/// <summary>Events of a consumer's offsets log.</summary>
public interface IOffsetsEvent : ILiminalEvent;

public sealed record OffsetAdvanced(string Stream, long Offset) : IOffsetsEvent;

public sealed record EventProcessed(string EventId) : IOffsetsEvent;

/// <summary>A consumer's offsets and processed event ids, saved every <c>snapshot-every</c> events.</summary>
public sealed record OffsetsSnapshot(Dictionary<string, long> Offsets, string[] Processed) : ILiminalSnapshot;
