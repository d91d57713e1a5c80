namespace Liminal.Actors.Consumers;

/// <summary>What bounds one durable consumer's deliveries in a partition (SPEC §2.6 <c>ConsumerOptions</c>).</summary>
public sealed record ConsumerLimits(int MaxAckPending, TimeSpan AckWait, int MaxDeliver);

/// <summary>A ledger's durable facts (see <see cref="ConsumerLedger.ToState"/>), as parallel columns.</summary>
public sealed record ConsumerLedgerState(
    long AckFloor, long[] DoneAboveFloor, long[] RunFirsts, long[] RunLasts, long[] AttemptedSequenceNrs, int[] Attempts);

/// <summary>A message the consumer actor must send now: to whom, which delivery attempt it is.</summary>
public readonly record struct Dispatch(long SequenceNr, string Member, int Attempt);

/// <summary>
/// One durable consumer's bookkeeping in one partition, pure and deterministic (time is passed in as bus-clock
/// milliseconds): which messages are done (the ack floor and the acks above it), which are out to a member and until
/// when, which wait to be sent or sent again, and how often each was tried.
/// </summary>
/// <remarks>
/// Durable facts are applied with <see cref="Start"/>, <see cref="Done"/> and <see cref="Attempted"/>, the same on
/// recovery as when they happen, so a recovered ledger agrees with the one that wrote them. Everything else (what is
/// out to whom, deadlines) lives for one run: after a restart every message above the floor that is not done is sent
/// again, its attempt counted on from the attempts that were recorded.
/// </remarks>
public sealed class ConsumerLedger(ConsumerLimits limits)
{
    private readonly SortedSet<long> _doneAboveFloor = [];
    // Runs of messages done at once above the floor (deleted by retention before this consumer was done): first -> last.
    private readonly SortedDictionary<long, long> _doneRuns = [];
    // Attempts already made of a message above the floor, as far as they were recorded.
    private readonly Dictionary<long, int> _attempts = [];
    private readonly Dictionary<long, Outstanding> _outstanding = [];
    // Messages to send, first or again, with the earliest time each may go (0: at once); sent in sequence order.
    private readonly SortedDictionary<long, long> _waiting = [];
    private long _read;

    /// <summary>Every message up to here is done for this consumer (acked, filtered out or dead-lettered).</summary>
    public long AckFloor { get; private set; }

    /// <summary>Messages out to a member and not yet acked.</summary>
    public int Pending => _outstanding.Count;

    /// <summary>The highest sequence number handed to <see cref="Offer"/> (or the floor, before any).</summary>
    public long HighestRead => Math.Max(_read, AckFloor);

    /// <summary>Deliveries after the first of a message, counted over this ledger's life.</summary>
    public long Redelivered { get; private set; }

    /// <summary>Whether another message may be read from the log without exceeding what may wait in memory.</summary>
    public bool WantsMore => _waiting.Count + _outstanding.Count < limits.MaxAckPending;

    /// <summary>The consumer's first subscribe: deliveries start after <paramref name="startAfter"/>.</summary>
    public void Start(long startAfter)
    {
        if (startAfter <= AckFloor)
            return;
        AckFloor = startAfter;
        _doneAboveFloor.RemoveWhere(s => s <= startAfter);
        foreach (var below in _waiting.Keys.Where(s => s <= startAfter).ToList())
            _waiting.Remove(below);
        foreach (var below in _attempts.Keys.Where(s => s <= startAfter).ToList())
            _attempts.Remove(below);
        foreach (var below in _outstanding.Keys.Where(s => s <= startAfter).ToList())
            _outstanding.Remove(below);
        Advance();
    }

    /// <summary>A message read from the log, in order; messages at or below the floor, or already read, are ignored.</summary>
    public void Offer(long sequenceNr)
    {
        if (sequenceNr <= HighestRead)
            return;
        _read = sequenceNr;
        if (!IsDone(sequenceNr))
            _waiting[sequenceNr] = 0;
    }

    /// <summary>
    /// Takes the waiting messages that had all their attempts before a restart (their last delivery was never acked):
    /// they are to be dead-lettered, not sent again.
    /// </summary>
    public IReadOnlyList<long> TakeExhausted()
    {
        var exhausted = _waiting.Keys.Where(s => _attempts.GetValueOrDefault(s) >= limits.MaxDeliver).ToList();
        foreach (var sequenceNr in exhausted)
            _waiting.Remove(sequenceNr);
        return exhausted;
    }

    /// <summary>
    /// Durable: the message is done for this consumer (acked, filtered out or dead-lettered). True when it was not
    /// done before (a repeated ack changes nothing).
    /// </summary>
    public bool Done(long sequenceNr)
    {
        if (sequenceNr <= AckFloor || InDoneRun(sequenceNr) || !_doneAboveFloor.Add(sequenceNr))
            return false;
        _outstanding.Remove(sequenceNr);
        _waiting.Remove(sequenceNr);
        _attempts.Remove(sequenceNr);
        Advance();
        return true;
    }

    /// <summary>
    /// Durable: every message from <paramref name="first"/> to <paramref name="last"/> is done without being delivered
    /// (deleted from the log by retention before this consumer was done with them). Cheap however long the run.
    /// </summary>
    public void DoneRun(long first, long last)
    {
        first = Math.Max(first, AckFloor + 1);
        if (last < first)
            return;
        _doneRuns[first] = Math.Max(last, _doneRuns.GetValueOrDefault(first));
        foreach (var inside in _waiting.Keys.Where(s => s >= first && s <= last).ToList())
            _waiting.Remove(inside);
        foreach (var inside in _outstanding.Keys.Where(s => s >= first && s <= last).ToList())
            _outstanding.Remove(inside);
        _doneAboveFloor.RemoveWhere(s => s >= first && s <= last);
        foreach (var inside in _attempts.Keys.Where(s => s >= first && s <= last).ToList())
            _attempts.Remove(inside);
        Advance();
    }

    /// <summary>Whether the message is done for this consumer.</summary>
    public bool IsDone(long sequenceNr) => sequenceNr <= AckFloor || _doneAboveFloor.Contains(sequenceNr) || InDoneRun(sequenceNr);

    /// <summary>
    /// Takes a message out of delivery (it is being dead-lettered on a <c>Term</c>): neither out nor waiting any more
    /// until it is done. False when it was neither.
    /// </summary>
    public bool Withdraw(long sequenceNr) => _outstanding.Remove(sequenceNr) | _waiting.Remove(sequenceNr);

    /// <summary>Whether the message waits to be sent (first or again).</summary>
    public bool IsWaiting(long sequenceNr) => _waiting.ContainsKey(sequenceNr);

    /// <summary>The durable facts, for a snapshot: restoring them with <see cref="Restore"/> gives the same ledger as replaying them.</summary>
    public ConsumerLedgerState ToState() =>
        new(AckFloor, [.. _doneAboveFloor], [.. _doneRuns.Keys], [.. _doneRuns.Values], [.. _attempts.Keys], [.. _attempts.Values]);

    /// <summary>Restores a fresh ledger from <see cref="ToState"/>.</summary>
    public void Restore(ConsumerLedgerState state)
    {
        AckFloor = state.AckFloor;
        _doneAboveFloor.UnionWith(state.DoneAboveFloor);
        for (var i = 0; i < state.RunFirsts.Length; i++)
            _doneRuns[state.RunFirsts[i]] = state.RunLasts[i];
        for (var i = 0; i < state.AttemptedSequenceNrs.Length; i++)
            _attempts[state.AttemptedSequenceNrs[i]] = state.Attempts[i];
    }

    /// <summary>Durable: delivery <paramref name="attempt"/> of the message was made (recorded for redeliveries).</summary>
    public void Attempted(long sequenceNr, int attempt)
    {
        if (!IsDone(sequenceNr))
            _attempts[sequenceNr] = Math.Max(attempt, _attempts.GetValueOrDefault(sequenceNr));
    }

    /// <summary>Whether the message is out to a member now.</summary>
    public bool IsPending(long sequenceNr) => _outstanding.ContainsKey(sequenceNr);

    /// <summary>
    /// The messages to send now, oldest first, while fewer than <c>MaxAckPending</c> are out: each to the member
    /// <paramref name="chooseMember"/> picks (null: none can take it, stop). Each is out until <c>AckWait</c> from now.
    /// </summary>
    public IReadOnlyList<Dispatch> Dispatch(long nowMillis, Func<string?> chooseMember)
    {
        var dispatches = new List<Dispatch>();
        foreach (var (sequenceNr, notBefore) in _waiting)
        {
            if (_outstanding.Count + dispatches.Count >= limits.MaxAckPending)
                break;
            if (notBefore > nowMillis || _attempts.GetValueOrDefault(sequenceNr) >= limits.MaxDeliver)
                continue;
            if (chooseMember() is not { } member)
                break;
            dispatches.Add(new Dispatch(sequenceNr, member, _attempts.GetValueOrDefault(sequenceNr) + 1));
        }
        var deadline = nowMillis + (long)limits.AckWait.TotalMilliseconds;
        foreach (var dispatch in dispatches)
        {
            _waiting.Remove(dispatch.SequenceNr);
            _attempts[dispatch.SequenceNr] = dispatch.Attempt;
            if (dispatch.Attempt > 1)
                Redelivered++;
            _outstanding[dispatch.SequenceNr] = new Outstanding(dispatch.Member, dispatch.Attempt, deadline);
        }
        return dispatches;
    }

    /// <summary>
    /// Messages whose ack wait ran out by <paramref name="nowMillis"/> go back to be sent again; those that already had
    /// <c>MaxDeliver</c> attempts are returned instead, to be dead-lettered (the consumer actor retries that until
    /// it is done; the ledger holds them nowhere meanwhile).
    /// </summary>
    public IReadOnlyList<long> Expire(long nowMillis) =>
        Return(_outstanding.Where(o => o.Value.DeadlineMillis <= nowMillis).Select(o => o.Key).ToList(), nowMillis);

    /// <summary>A member stopped: its messages are sent to the others at once (each counts as an attempt).</summary>
    public IReadOnlyList<long> MemberStopped(string member, long nowMillis) =>
        Return(_outstanding.Where(o => o.Value.Member == member).Select(o => o.Key).ToList(), nowMillis);

    /// <summary>
    /// A <c>Nak</c>: the message is sent again, not before <paramref name="notBeforeMillis"/>. False when it is not out
    /// (not pending); a message out of attempts is returned in <paramref name="exhausted"/>.
    /// </summary>
    public bool Nak(long sequenceNr, long notBeforeMillis, out bool exhausted)
    {
        exhausted = false;
        if (!_outstanding.ContainsKey(sequenceNr))
            return false;
        exhausted = Return([sequenceNr], notBeforeMillis).Count > 0;
        return true;
    }

    /// <summary>The earliest time something is due (an ack wait ending or a delayed redelivery); null when nothing is.</summary>
    public long? NextDueMillis()
    {
        long? due = null;
        foreach (var outstanding in _outstanding.Values)
            due = Math.Min(due ?? long.MaxValue, outstanding.DeadlineMillis);
        foreach (var notBefore in _waiting.Values)
            if (notBefore > 0)
                due = Math.Min(due ?? long.MaxValue, notBefore);
        return due;
    }

    /// <summary>The attempts made so far of a message (0: never sent).</summary>
    public int AttemptsOf(long sequenceNr) => _attempts.GetValueOrDefault(sequenceNr);

    private List<long> Return(List<long> sequenceNrs, long notBeforeMillis)
    {
        var exhausted = new List<long>();
        foreach (var sequenceNr in sequenceNrs)
        {
            var outstanding = _outstanding[sequenceNr];
            _outstanding.Remove(sequenceNr);
            if (outstanding.Attempt >= limits.MaxDeliver)
                exhausted.Add(sequenceNr);
            else
                _waiting[sequenceNr] = notBeforeMillis;
        }
        return exhausted;
    }

    // The floor moves over done messages only, and Done took each out of every other collection already.
    private void Advance()
    {
        while (true)
        {
            if (_doneAboveFloor.Count > 0 && _doneAboveFloor.Min == AckFloor + 1)
            {
                AckFloor++;
                _doneAboveFloor.Remove(AckFloor);
            }
            else if (_doneRuns.Count > 0 && _doneRuns.First() is var run && run.Key <= AckFloor + 1)
            {
                _doneRuns.Remove(run.Key);
                AckFloor = Math.Max(AckFloor, run.Value);
                _doneAboveFloor.RemoveWhere(s => s <= AckFloor);
            }
            else
                return;
        }
    }

    private bool InDoneRun(long sequenceNr)
    {
        foreach (var (first, last) in _doneRuns)
        {
            if (first > sequenceNr)
                return false;
            if (sequenceNr <= last)
                return true;
        }
        return false;
    }

    private readonly record struct Outstanding(string Member, int Attempt, long DeadlineMillis);
}
