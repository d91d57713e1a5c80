using System.Collections.Immutable;

namespace Liminal.Actors.Dedup;

/// <summary>One key's entry: in flight (no receipt, anchored at the claim) or completed (anchored at completion).</summary>
public sealed record DedupEntry(string Key, long AnchorMillis, ProcessingReceipt? Receipt)
{
    public bool IsCompleted => Receipt is not null;

    public DedupDecision ToDecision() =>
        Receipt is null ? new DedupDecision.InFlight(AnchorMillis) : new DedupDecision.Completed(Receipt);

    internal AnchoredKey Anchored => new(AnchorMillis, Key);
}

/// <summary>Orders entries by anchor time, then key, so expiry and eviction take the oldest first.</summary>
internal readonly record struct AnchoredKey(long AnchorMillis, string Key) : IComparable<AnchoredKey>
{
    public int CompareTo(AnchoredKey other)
    {
        var byTime = AnchorMillis.CompareTo(other.AnchorMillis);
        return byTime != 0 ? byTime : string.CompareOrdinal(Key, other.Key);
    }
}

/// <summary>The limits a shard decides by.</summary>
public sealed record DedupPolicy(TimeSpan Ttl, int MaxKeys)
{
    /// <summary>Clock skew and boundary allowance added to every TTL.</summary>
    public static readonly TimeSpan Grace = TimeSpan.FromSeconds(1);

    public long LifetimeMillis => (long)(Ttl + Grace).TotalMilliseconds;

    public bool IsExpired(long anchorMillis, long nowMillis) => nowMillis > anchorMillis + LifetimeMillis;
}

/// <summary>What a command decided: the one reply, and the events that must be durable before it is sent.</summary>
public sealed record DedupOutcome(object Reply, IReadOnlyList<IDedupEvent> Events)
{
    public static DedupOutcome ReplyOnly(object reply) => new(reply, []);
}

/// <summary>
/// The immutable state of one dedup shard and its pure decision and fold functions.
/// Expired entries that the sweep has not removed yet are treated as absent.
/// </summary>
public sealed record DedupShardState
{
    /// <summary>Largest receipt the bus stores, so one key cannot bloat a shard.</summary>
    public const int MaxReceiptBytes = 64 * 1024;

    public static readonly DedupShardState Empty = new(
        ImmutableDictionary<string, DedupEntry>.Empty.WithComparers(StringComparer.Ordinal),
        ImmutableSortedSet<AnchoredKey>.Empty,
        ImmutableSortedSet<AnchoredKey>.Empty);

    private DedupShardState(
        ImmutableDictionary<string, DedupEntry> entries,
        ImmutableSortedSet<AnchoredKey> byAnchor,
        ImmutableSortedSet<AnchoredKey> completedByAnchor)
    {
        Entries = entries;
        ByAnchor = byAnchor;
        CompletedByAnchor = completedByAnchor;
    }

    public ImmutableDictionary<string, DedupEntry> Entries { get; }

    internal ImmutableSortedSet<AnchoredKey> ByAnchor { get; }

    internal ImmutableSortedSet<AnchoredKey> CompletedByAnchor { get; }

    public int Count => Entries.Count;

    /// <summary>The live (not expired) entry of a key, if any.</summary>
    public DedupEntry? Live(string key, DedupPolicy policy, long nowMillis) =>
        Entries.TryGetValue(key, out var entry) && !policy.IsExpired(entry.AnchorMillis, nowMillis) ? entry : null;

    public static DedupOutcome Decide(DedupShardState state, object command, DedupPolicy policy, long nowMillis) =>
        command switch
        {
            ClaimOrGet c => DecideClaim(state, c, policy, nowMillis),
            LookupKey l => DedupOutcome.ReplyOnly(new KeyStatus(l.Key, state.Live(l.Key, policy, nowMillis)?.ToDecision())),
            CompleteReceipt c => DecideComplete(state, c, policy, nowMillis),
            ReleaseClaim r => DecideRelease(state, r, policy, nowMillis),
            ClaimOrComplete c => DecideClaimOrComplete(state, c, policy, nowMillis),
            SweepExpired => DecideSweep(state, policy, nowMillis),
            _ => throw new ArgumentException($"Not a dedup command: {command.GetType().Name}", nameof(command)),
        };

    private static DedupOutcome DecideClaim(DedupShardState state, ClaimOrGet command, DedupPolicy policy, long now)
    {
        if (state.Live(command.Key, policy, now) is { } existing)
            return DedupOutcome.ReplyOnly(existing.ToDecision());

        return WithRoomFor(state, command.Key, policy, now, new KeyClaimed(command.Key, now), new DedupDecision.Claimed());
    }

    private static DedupOutcome DecideClaimOrComplete(DedupShardState state, ClaimOrComplete command, DedupPolicy policy, long now)
    {
        if (InvalidReceipt(command.Key, command.Receipt) is { } invalid)
            return invalid;

        return state.Live(command.Key, policy, now) switch
        {
            { Receipt: { } original } => DedupOutcome.ReplyOnly(new IdempotencyResult.Duplicate(original)),
            { } inFlight => DedupOutcome.ReplyOnly(new IdempotencyResult.InFlight(inFlight.AnchorMillis)),
            null => WithRoomFor(state, command.Key, policy, now,
                new KeyClaimedAndCompleted(command.Key, command.Receipt.Bytes, now), new IdempotencyResult.New()),
        };
    }

    private static DedupOutcome DecideComplete(DedupShardState state, CompleteReceipt command, DedupPolicy policy, long now)
    {
        if (InvalidReceipt(command.Key, command.Receipt) is { } invalid)
            return invalid;

        return state.Live(command.Key, policy, now) switch
        {
            null => DedupOutcome.ReplyOnly(new DedupRejected(command.Key, DedupRejection.NotClaimed)),
            { Receipt: null } => new DedupOutcome(
                new ReceiptStored(command.Key),
                [new KeyCompleted(command.Key, command.Receipt.Bytes, now)]),
            { Receipt: { } stored } when stored.Equals(command.Receipt) => DedupOutcome.ReplyOnly(new ReceiptStored(command.Key)),
            _ => DedupOutcome.ReplyOnly(new DedupRejected(command.Key, DedupRejection.ReceiptMismatch)),
        };
    }

    private static DedupOutcome DecideRelease(DedupShardState state, ReleaseClaim command, DedupPolicy policy, long now) =>
        state.Live(command.Key, policy, now) is { Receipt: null }
            ? new DedupOutcome(new ClaimReleased(command.Key, true), [new KeyReleased(command.Key)])
            : DedupOutcome.ReplyOnly(new ClaimReleased(command.Key, false));

    private static DedupOutcome DecideSweep(DedupShardState state, DedupPolicy policy, long now)
    {
        var expired = state.ExpiredKeys(policy, now).ToArray();
        var report = new SweepReport(state.Count, expired.Length, state.Count - expired.Length);
        return expired.Length == 0
            ? DedupOutcome.ReplyOnly(report)
            : new DedupOutcome(report, [new KeysExpired(expired, now)]);
    }

    private IEnumerable<string> ExpiredKeys(DedupPolicy policy, long now) =>
        ByAnchor.TakeWhile(a => policy.IsExpired(a.AnchorMillis, now)).Select(a => a.Key);

    /// <summary>
    /// Adds <paramref name="admit"/> when the shard has room, else frees one slot first: the oldest expired
    /// entry, then the oldest completed one. In-flight claims are never evicted.
    /// </summary>
    private static DedupOutcome WithRoomFor(
        DedupShardState state, string key, DedupPolicy policy, long now, IDedupEvent admit, object reply)
    {
        // An expired entry of the same key is replaced in place and needs no new slot.
        if (state.Count < policy.MaxKeys || state.Entries.ContainsKey(key))
            return new DedupOutcome(reply, [admit]);

        var victim = state.ExpiredKeys(policy, now).FirstOrDefault()
                     ?? (state.CompletedByAnchor.Count > 0 ? state.CompletedByAnchor.Min.Key : null);
        return victim is null
            ? DedupOutcome.ReplyOnly(new DedupRejected(key, DedupRejection.CapacityExceeded))
            : new DedupOutcome(reply, [new KeysEvicted([victim]), admit]);
    }

    private static DedupOutcome? InvalidReceipt(string key, ProcessingReceipt? receipt) =>
        receipt?.Bytes is null || receipt.Bytes.Length > MaxReceiptBytes
            ? DedupOutcome.ReplyOnly(new DedupRejected(key, DedupRejection.InvalidReceipt))
            : null;

    /// <summary>Folds one event into the state. Idempotent: applying an event twice changes nothing.</summary>
    public static DedupShardState Apply(DedupShardState state, IDedupEvent @event) =>
        @event switch
        {
            KeyClaimed e => state.Put(new DedupEntry(e.Key, e.ClaimedAtMillis, null)),
            KeyCompleted e => state.Put(new DedupEntry(e.Key, e.CompletedAtMillis, new ProcessingReceipt(e.Receipt))),
            KeyClaimedAndCompleted e => state.Put(new DedupEntry(e.Key, e.CompletedAtMillis, new ProcessingReceipt(e.Receipt))),
            KeyReleased e => state.Entries.TryGetValue(e.Key, out var entry) && !entry.IsCompleted ? state.Remove(e.Key) : state,
            KeysExpired e => e.Keys.Aggregate(state, (s, key) => s.Remove(key)),
            KeysEvicted e => e.Keys.Aggregate(state, (s, key) => s.Remove(key)),
            _ => throw new ArgumentException($"Not a dedup event: {@event.GetType().Name}", nameof(@event)),
        };

    private DedupShardState Put(DedupEntry entry)
    {
        var without = Remove(entry.Key);
        return new DedupShardState(
            without.Entries.SetItem(entry.Key, entry),
            without.ByAnchor.Add(entry.Anchored),
            entry.IsCompleted ? without.CompletedByAnchor.Add(entry.Anchored) : without.CompletedByAnchor);
    }

    private DedupShardState Remove(string key)
    {
        if (!Entries.TryGetValue(key, out var existing))
            return this;
        return new DedupShardState(
            Entries.Remove(key),
            ByAnchor.Remove(existing.Anchored),
            existing.IsCompleted ? CompletedByAnchor.Remove(existing.Anchored) : CompletedByAnchor);
    }

    public DedupShardSnapshot ToSnapshot() =>
        new(Entries.Values.Select(e => new DedupSnapshotEntry(e.Key, e.AnchorMillis, e.Receipt?.Bytes)).ToArray());

    public static DedupShardState FromSnapshot(DedupShardSnapshot snapshot) =>
        snapshot.Entries.Aggregate(Empty, (s, e) =>
            s.Put(new DedupEntry(e.Key, e.AnchorMillis, e.Receipt is null ? null : new ProcessingReceipt(e.Receipt))));
}
