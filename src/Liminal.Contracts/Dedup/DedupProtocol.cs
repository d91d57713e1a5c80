namespace Liminal.Actors.Dedup;

/// <summary>What a processed, keyed request produced; compared by content.</summary>
public sealed record ProcessingReceipt(byte[] Bytes)
{
    public bool Equals(ProcessingReceipt? other) =>
        other is not null && (ReferenceEquals(Bytes, other.Bytes) || Bytes.AsSpan().SequenceEqual(other.Bytes));

    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.AddBytes(Bytes);
        return hash.ToHashCode();
    }

    public override string ToString() => $"ProcessingReceipt({Convert.ToBase64String(Bytes)})";
}

/// <summary>The state of an idempotency key as seen by a claimer.</summary>
[System.Text.Json.Serialization.JsonPolymorphic(TypeDiscriminatorPropertyName = "$decision")]
[System.Text.Json.Serialization.JsonDerivedType(typeof(Claimed), "claimed")]
[System.Text.Json.Serialization.JsonDerivedType(typeof(InFlight), "in-flight")]
[System.Text.Json.Serialization.JsonDerivedType(typeof(Completed), "completed")]
public abstract record DedupDecision : ILiminalMessage
{
    private DedupDecision() { }

    /// <summary>The caller now owns the key and is the only one that may deliver.</summary>
    public sealed record Claimed : DedupDecision;

    /// <summary>Someone else claimed the key and has not completed it yet.</summary>
    public sealed record InFlight(long ClaimedAtMillis) : DedupDecision
    {
        /// <summary>The claimer's owner id, when it gave one.</summary>
        public string? Owner { get; init; }
    }

    /// <summary>The key was processed; the stored receipt answers the duplicate.</summary>
    public sealed record Completed(ProcessingReceipt Receipt) : DedupDecision;
}

/// <summary>Why a dedup request was refused.</summary>
public enum DedupRejection
{
    NotClaimed,
    ReceiptMismatch,
    InvalidKey,
    CapacityExceeded,
    /// <summary>A receipt that is missing or larger than the bus stores.</summary>
    InvalidReceipt,
    /// <summary>The journal write failed or timed out: whether it was stored is unknown; a retry finds out.</summary>
    PersistFailed,
    /// <summary>The key's shard is restarting and its buffer is full; retry later.</summary>
    Overloaded,
}

/// <summary>Every request addressed to one idempotency key.</summary>
public interface IDedupKeyCommand
{
    string Key { get; }
}

/// <summary>Claims an absent key, or reports who holds it.</summary>
public sealed record ClaimOrGet(string Key) : IDedupKeyCommand, ILiminalMessage
{
    /// <summary>Optional id of the claimer (the channel publish path gives its bus incarnation).</summary>
    public string? Owner { get; init; }
}

/// <summary>
/// Takes over an in-flight claim left by <c>FromOwner</c> (a process that died): answers <c>Claimed</c> if the key
/// is still in flight for that owner, else the key's current decision.
/// </summary>
public sealed record TakeOverClaim(string Key, string FromOwner, string ToOwner) : IDedupKeyCommand, ILiminalMessage;

/// <summary>Read-only look at a key.</summary>
public sealed record LookupKey(string Key) : IDedupKeyCommand, ILiminalMessage;

/// <summary>The answer to <see cref="LookupKey"/>; <c>Decision</c> is null when the key is absent.</summary>
public sealed record KeyStatus(string Key, DedupDecision? Decision) : ILiminalMessage;

/// <summary>Stores the receipt of a claimed key.</summary>
public sealed record CompleteReceipt(string Key, ProcessingReceipt Receipt) : IDedupKeyCommand, ILiminalMessage;

/// <summary>The receipt is durable.</summary>
public sealed record ReceiptStored(string Key) : ILiminalMessage;

/// <summary>A typed refusal of a dedup request; nothing was persisted for it.</summary>
public sealed record DedupRejected(string Key, DedupRejection Reason) : ILiminalMessage
{
    /// <summary>Human-readable detail, e.g. the journal's error for <see cref="DedupRejection.PersistFailed"/>.</summary>
    public string? Detail { get; init; }
}

/// <summary>Gives up an in-flight claim so the key can be claimed again.</summary>
public sealed record ReleaseClaim(string Key) : IDedupKeyCommand, ILiminalMessage
{
    /// <summary>When set, only a claim made by this owner is released (another claimer's claim stays).</summary>
    public string? Owner { get; init; }
}

/// <summary><c>Released</c> is false when the key was absent or completed (a receipt is never clobbered).</summary>
public sealed record ClaimReleased(string Key, bool Released) : ILiminalMessage;

/// <summary>Expires every entry whose anchor + TTL + 1 s grace lies before now, in every shard.</summary>
public sealed record SweepExpired : ILiminalMessage
{
    public static SweepExpired Instance { get; } = new();
}

/// <summary>What a sweep looked at and removed.</summary>
public sealed record SweepReport(int Scanned, int Expired, int Retained) : ILiminalMessage;

/// <summary>A sweep could not be recorded by at least one shard.</summary>
public sealed record SweepFailed(string Detail) : ILiminalMessage;

/// <summary>Claims and completes an absent key in one event, or returns the original receipt.</summary>
public sealed record ClaimOrComplete(string Key, ProcessingReceipt Receipt) : IDedupKeyCommand, ILiminalMessage;

/// <summary>The answer to <see cref="ClaimOrComplete"/>.</summary>
public abstract record IdempotencyResult : ILiminalMessage
{
    private IdempotencyResult() { }

    /// <summary>First time this key was seen: it is now completed with the given receipt.</summary>
    public sealed record New : IdempotencyResult;

    /// <summary>The key was already completed; <c>Original</c> is the receipt stored then.</summary>
    public sealed record Duplicate(ProcessingReceipt Original) : IdempotencyResult;

    /// <summary>Another caller claimed the key and has not completed it.</summary>
    public sealed record InFlight(long ClaimedAtMillis) : IdempotencyResult;
}
