using System.Runtime.InteropServices;

namespace Liminal.Actors.Dedup;

/// <summary>One key's entry: in flight (no receipt, anchored at the claim) or completed (anchored at completion).</summary>
public sealed record DedupEntry(string Key, long AnchorMillis, ProcessingReceipt? Receipt, string? Owner = null)
{
    public bool IsCompleted => Receipt is not null;

    public DedupDecision ToDecision() =>
        Receipt is null ? new DedupDecision.InFlight(AnchorMillis) { Owner = Owner } : new DedupDecision.Completed(Receipt);
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
/// The state of one dedup shard: <see cref="Decide"/> is a pure function of it; <see cref="Apply"/> folds an event
/// into it. Expired entries that the sweep has not removed yet are treated as absent.
/// </summary>
/// <remarks>
/// Deliberately mutable (a hash map plus two anchor-ordered indexes) rather than immutable collections: the
/// immutable version cost about a fifth of dedup throughput in <c>bench dedup</c>. Only the owning actor touches it.
/// </remarks>
public sealed class DedupShardState
{
    private readonly Dictionary<string, DedupEntry> _entries = new(StringComparer.Ordinal);
    private readonly AnchorIndex _byAnchor;
    private readonly AnchorIndex _completedByAnchor;

    private DedupShardState()
    {
        _byAnchor = new AnchorIndex(IsCurrent);
        _completedByAnchor = new AnchorIndex(IsCurrent);
    }

    /// <summary>An empty state.</summary>
    public static DedupShardState Empty => new();

    public IReadOnlyDictionary<string, DedupEntry> Entries => _entries;

    public int Count => _entries.Count;

    /// <summary>The live (not expired) entry of a key, if any.</summary>
    public DedupEntry? Live(string key, DedupPolicy policy, long nowMillis) =>
        _entries.TryGetValue(key, out var entry) && !policy.IsExpired(entry.AnchorMillis, nowMillis) ? entry : null;

    public static DedupOutcome Decide(DedupShardState state, object command, DedupPolicy policy, long nowMillis) =>
        command switch
        {
            ClaimOrGet c => DecideClaim(state, c, policy, nowMillis),
            TakeOverClaim t => DecideTakeOver(state, t, policy, nowMillis),
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

        return WithRoomFor(state, command.Key, policy, now, new KeyClaimed(command.Key, now) { Owner = command.Owner }, new DedupDecision.Claimed());
    }

    private static DedupOutcome DecideTakeOver(DedupShardState state, TakeOverClaim command, DedupPolicy policy, long now)
    {
        var existing = state.Live(command.Key, policy, now);
        if (existing is { Receipt: null } orphan && orphan.Owner == command.FromOwner)
            return new DedupOutcome(new DedupDecision.Claimed(), [new KeyClaimed(command.Key, now) { Owner = command.ToOwner }]);
        return existing is null
            ? DecideClaim(state, new ClaimOrGet(command.Key) { Owner = command.ToOwner }, policy, now)
            : DedupOutcome.ReplyOnly(existing.ToDecision());
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
        state.Live(command.Key, policy, now) is { Receipt: null } inFlight && (command.Owner is null || command.Owner == inFlight.Owner)
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
        _byAnchor.Oldest().TakeWhile(e => policy.IsExpired(e.AnchorMillis, now)).Select(e => e.Key);

    /// <summary>
    /// Adds <paramref name="admit"/> when the shard has room, else frees one slot first: the oldest expired
    /// entry, then the oldest completed one. In-flight claims are never evicted.
    /// </summary>
    private static DedupOutcome WithRoomFor(
        DedupShardState state, string key, DedupPolicy policy, long now, IDedupEvent admit, object reply)
    {
        // An expired entry of the same key is replaced in place and needs no new slot.
        if (state.Count < policy.MaxKeys || state._entries.ContainsKey(key))
            return new DedupOutcome(reply, [admit]);

        var victim = state.ExpiredKeys(policy, now).FirstOrDefault()
                     ?? state._completedByAnchor.Oldest().FirstOrDefault()?.Key;
        return victim is null
            ? DedupOutcome.ReplyOnly(new DedupRejected(key, DedupRejection.CapacityExceeded))
            : new DedupOutcome(reply, [new KeysEvicted([victim]), admit]);
    }

    private static DedupOutcome? InvalidReceipt(string key, ProcessingReceipt? receipt) =>
        Validation.InputRules.ReceiptProblem(receipt) is { } problem
            ? DedupOutcome.ReplyOnly(new DedupRejected(key, DedupRejection.InvalidReceipt) { Detail = problem })
            : null;

    /// <summary>
    /// Folds one event into <paramref name="state"/> (in place) and returns it. Idempotent: applying an event twice
    /// changes nothing.
    /// </summary>
    public static DedupShardState Apply(DedupShardState state, IDedupEvent @event)
    {
        switch (@event)
        {
            case KeyClaimed e:
                state.Put(new DedupEntry(e.Key, e.ClaimedAtMillis, null, e.Owner));
                break;
            case KeyCompleted e:
                state.Put(new DedupEntry(e.Key, e.CompletedAtMillis, new ProcessingReceipt(e.Receipt)));
                break;
            case KeyClaimedAndCompleted e:
                state.Put(new DedupEntry(e.Key, e.CompletedAtMillis, new ProcessingReceipt(e.Receipt)));
                break;
            case KeyReleased e:
                if (state._entries.TryGetValue(e.Key, out var entry) && !entry.IsCompleted)
                    state.Remove(e.Key);
                break;
            case KeysExpired e:
                foreach (var key in e.Keys)
                    state.Remove(key);
                break;
            case KeysEvicted e:
                foreach (var key in e.Keys)
                    state.Remove(key);
                break;
            default:
                throw new ArgumentException($"Not a dedup event: {@event.GetType().Name}", nameof(@event));
        }
        return state;
    }

    private void Put(DedupEntry entry)
    {
        ref var slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_entries, entry.Key, out var replacing);
        var previous = slot;
        slot = entry;
        if (replacing)
            Retire(previous!);
        _byAnchor.Add(entry);
        if (entry.IsCompleted)
            _completedByAnchor.Add(entry);
    }

    private void Remove(string key)
    {
        if (_entries.Remove(key, out var existing))
            Retire(existing);
    }

    private void Retire(DedupEntry entry)
    {
        _byAnchor.Retired();
        if (entry.IsCompleted)
            _completedByAnchor.Retired();
    }

    private bool IsCurrent(DedupEntry entry) =>
        _entries.TryGetValue(entry.Key, out var current) && ReferenceEquals(current, entry);

    public DedupShardSnapshot ToSnapshot() =>
        new(_entries.Values.Select(e => new DedupSnapshotEntry(e.Key, e.AnchorMillis, e.Receipt?.Bytes) { Owner = e.Owner }).ToArray());

    /// <summary>The state a snapshot saved.</summary>
    public static DedupShardState FromSnapshot(DedupShardSnapshot snapshot)
    {
        var state = new DedupShardState();
        // Oldest first, so that the indexes are built by appends.
        foreach (var e in snapshot.Entries.OrderBy(e => e.AnchorMillis).ThenBy(e => e.Key, StringComparer.Ordinal))
            state.Put(new DedupEntry(e.Key, e.AnchorMillis, e.Receipt is null ? null : new ProcessingReceipt(e.Receipt), e.Owner));
        return state;
    }
}
