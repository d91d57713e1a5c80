using Liminal.Actors.Persistence;

namespace Liminal.Actors.Dedup;

/// <summary>Events of a dedup shard's journal: the dedup log.</summary>
public interface IDedupEvent : ILiminalEvent;

/// <summary>An absent key was claimed at <c>ClaimedAtMillis</c>.</summary>
public sealed record KeyClaimed(string Key, long ClaimedAtMillis) : IDedupEvent
{
    /// <summary>Who claimed it (e.g. a bus incarnation), so a claim left by a dead process can be recognised.</summary>
    public string? Owner { get; init; }
}

/// <summary>An in-flight key was completed with its receipt; the completion time anchors its TTL.</summary>
public sealed record KeyCompleted(string Key, byte[] Receipt, long CompletedAtMillis) : IDedupEvent;

/// <summary>An absent key was claimed and completed in one step (<see cref="ClaimOrComplete"/>).</summary>
public sealed record KeyClaimedAndCompleted(string Key, byte[] Receipt, long CompletedAtMillis) : IDedupEvent;

/// <summary>An in-flight claim was given up.</summary>
public sealed record KeyReleased(string Key) : IDedupEvent;

/// <summary>Entries whose TTL ran out were removed.</summary>
public sealed record KeysExpired(string[] Keys, long AtMillis) : IDedupEvent;

/// <summary>Entries were removed to make room under <c>max-keys-per-shard</c>.</summary>
public sealed record KeysEvicted(string[] Keys) : IDedupEvent;

/// <summary>One entry of a shard snapshot.</summary>
public sealed record DedupSnapshotEntry(string Key, long AnchorMillis, byte[]? Receipt)
{
    public string? Owner { get; init; }
}

/// <summary>The whole state of a shard, saved every <c>snapshot-every</c> events.</summary>
public sealed record DedupShardSnapshot(DedupSnapshotEntry[] Entries) : ILiminalSnapshot;
