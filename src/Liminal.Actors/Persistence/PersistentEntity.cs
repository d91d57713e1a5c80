using System.Diagnostics;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Liminal.Actors.Entities;

namespace Liminal.Actors.Persistence;

/// <summary>
/// The write path of every Liminal persistent entity, on Akka.Persistence's own mechanisms: one state that holds
/// only durable events, events written with <c>PersistAllAsync</c> (the journal batches every write issued while one
/// is in flight), each reply sent from the persist handler once its events are durable, replies that persist
/// nothing sent through <c>DeferAsync</c> behind the writes issued before them, and snapshots only between writes.
/// </summary>
/// <remarks>
/// <para>Because the state is only ever what is durable, a command whose decision depends on a write still in flight
/// waits for it: <see cref="ConflictOf"/> names what a command depends on (one key, or everything); such a command
/// is decided once that write's handler has run. Of two concurrent claims of one key exactly one wins, and no second
/// (projected) copy of the state is needed.</para>
/// <para>A write that fails (the journal reports an error or a timeout) may still have been stored: its outcome is
/// unknown. The entity stops (its parent recreates it with backoff and it recovers whatever was stored), and every
/// command owed a reply gets the typed failure from <see cref="FailureFor"/>, which must not claim that nothing was
/// written; what it had not yet taken from its mailbox its parent answers (<see cref="EntityIntake"/>). A write the
/// journal rejects (nothing stored, e.g. a serialization error) fails only its own commands and the entity carries on.</para>
/// <para>An entity that sets <see cref="PackWrites"/> writes the events of every command decided while its previous
/// write is in flight as one <see cref="EventBatch"/> row (one journal row per group commit instead of per event).</para>
/// <para>An idle entity is passivated by its parent (<see cref="EntityParent.PassivateIdleAfter"/>), as a shard region
/// passivates idle entities, with <see cref="StopPassivated"/>: the entity stops once it owes nothing. It sets no
/// receive timeout of its own, which Akka would re-schedule on every message it receives.</para>
/// </remarks>
public abstract class PersistentEntity<TEvent> : UntypedPersistentActor where TEvent : class, ILiminalEvent
{
    private const string UnknownOutcome = "journal write failed or timed out: whether it was stored is unknown; a retry finds out";

    // One entry per handler invocation Akka owes us (an event, an EventBatch row or a deferred reply), in order.
    private readonly Queue<Invocation> _invocations = new();
    private readonly Dictionary<string, int> _keysWriting = new(StringComparer.Ordinal);
    private readonly Queue<(object Command, IActorRef Sender)> _waiting = new();
    private readonly EntityIntake _intake = new();
    private Invocation? _openPack;
    private int _writesInFlight;
    private int _barrierWritesInFlight;
    private long _eventsSinceSnapshot;
    private bool _stopWhenIdle;
    private Conflict _deciding;
    // Replies sent or owed so far: a command whose Decide threw before adding one is refused by the base.
    private long _answersGiven;
    private Metrics.LiminalMetrics? _metrics;

    private Metrics.LiminalMetrics Metrics => _metrics ??= Liminal.Actors.Metrics.LiminalMetrics.For(Context.System);

    /// <summary>Events between snapshots.</summary>
    protected abstract long SnapshotEvery { get; }

    /// <summary>How many events a snapshot must at least wait, given what it costs (e.g. the number of entries).</summary>
    protected virtual long SnapshotCost => 0;

    /// <summary>Writes the events of each group commit as one <see cref="EventBatch"/> row.</summary>
    protected virtual bool PackWrites => false;

    /// <summary>Commands decided but not yet answered.</summary>
    protected int CommandsInFlight { get; private set; }

    /// <summary>Restores the state from a snapshot taken by <see cref="Snapshot"/>.</summary>
    protected abstract void RestoreSnapshot(object snapshot);

    /// <summary>Folds a durable event (replayed, or just written) into the state.</summary>
    protected abstract void Apply(TEvent @event);

    /// <summary>The state as a snapshot.</summary>
    protected abstract object Snapshot();

    /// <summary>Recovery is over (start timers, tell the parent).</summary>
    protected virtual void OnRecovered() { }

    /// <summary>Which writes in flight a command must wait for before it is decided.</summary>
    protected abstract Conflict ConflictOf(object command);

    /// <summary>Decides a command against the (durable) state and carries it out with <see cref="Persist"/> or <see cref="Reply"/>.</summary>
    protected abstract void Decide(object command, IActorRef sender);

    /// <summary>The typed failure for a command whose write failed or that could not be decided; the outcome is unknown.</summary>
    protected abstract object FailureFor(object command, string detail);

    /// <summary>How a log line names an event the journal rejected or failed to write.</summary>
    protected virtual string Describe(object @event) => @event.GetType().Name;

    /// <summary>Handles what is not a command (timers); <see cref="ConflictOf"/> is not asked for these.</summary>
    protected virtual bool OnOtherMessage(object message) => false;

    protected sealed override void OnRecover(object message)
    {
        switch (message)
        {
            case SnapshotOffer offer:
                RestoreSnapshot(offer.Snapshot);
                break;
            case TEvent @event:
                Apply(@event);
                _eventsSinceSnapshot++;
                break;
            case EventBatch batch:
                foreach (var @event in batch.Events)
                    Apply((TEvent)@event);
                _eventsSinceSnapshot += batch.Events.Count;
                break;
            case RecoveryCompleted:
                OnRecovered();
                break;
        }
    }

    protected sealed override void OnCommand(object message)
    {
        // Here, not in AroundReceive: a message stashed during recovery has not been taken yet.
        if (_intake.TryReport(message, Context))
            return;
        message = _intake.Take(message, Context);
        switch (message)
        {
            case SaveSnapshotSuccess saved:
                // Older snapshots only; the journal is the log and its events stay (SPEC §3). There are none below
                // sequence number 1, and some stores read a bound of 0 as "no bound" (deleting the one just saved).
                if (saved.Metadata.SequenceNr > 1)
                    DeleteSnapshots(new SnapshotSelectionCriteria(saved.Metadata.SequenceNr - 1));
                break;
            case SaveSnapshotFailure failed:
                Log.Warning(failed.Cause, "Snapshot of {0} failed; recovery replays more events until the next one", PersistenceId);
                break;
            case DeleteSnapshotsSuccess or DeleteSnapshotsFailure:
                // Ours after each snapshot are nothing to act on; an entity that deletes its state waits for its own.
                OnOtherMessage(message);
                break;
            case StopPassivated:
                _stopWhenIdle = true;
                StopIfIdle();
                break;
            case ContinueAfterRejection:
                FlushPackIfIdle();
                DecideWaiting();
                StopIfIdle();
                break;
            default:
                if (!OnOtherMessage(message))
                    Submit(message, Sender);
                break;
        }
    }

    /// <summary>
    /// Writes <paramref name="events"/> (the decision of the command being decided); once they are durable,
    /// <paramref name="reply"/> is called with the sequence number of the last one and its result goes to
    /// <paramref name="replyTo"/>. On a failed write <paramref name="replyTo"/> gets <see cref="FailureFor"/> instead.
    /// </summary>
    protected void Persist(IReadOnlyList<TEvent> events, object command, IActorRef replyTo, Func<long, object> reply)
    {
        if (events.Count == 0)
            throw new ArgumentException("nothing to persist: use Reply", nameof(events));
        var owed = new OwedReply(command, replyTo, reply, _deciding);
        _answersGiven++;
        CommandsInFlight++;
        MarkWriting(_deciding);
        if (PackWrites)
        {
            var pack = _openPack ??= new Invocation();
            pack.Events.AddRange(events);
            pack.Replies.Add(owed);
            FlushPackIfIdle();
            return;
        }
        _writesInFlight++;
        for (var i = 0; i < events.Count; i++)
            _invocations.Enqueue(i == events.Count - 1 ? new Invocation(owed, endsWriteOf: events.Count) { Started = Stopwatch.GetTimestamp() } : Invocation.Continued);
        PersistAllAsync(events, OnEventDurable);
    }

    /// <summary>
    /// Replies to a command that persisted nothing: now when no write is owed, else behind the writes issued before it
    /// (<c>DeferAsync</c>), so replies keep the order of the commands.
    /// </summary>
    protected void Reply(IActorRef replyTo, object reply)
    {
        _answersGiven++;
        if (_openPack is { } pack)
        {
            pack.Replies.Add(new OwedReply(null, replyTo, _ => reply, Conflict.None));
            CommandsInFlight++;
            return;
        }
        if (_invocations.Count == 0)
        {
            TryTell(replyTo, reply);
            return;
        }
        CommandsInFlight++;
        _invocations.Enqueue(new Invocation(new OwedReply(null, replyTo, _ => reply, Conflict.None), endsWriteOf: 0));
        DeferAsync(reply, _ => OnInvocationDone());
    }

    private void Submit(object command, IActorRef sender)
    {
        if (_waiting.Count > 0 || IsBlocked(ConflictOf(command)))
        {
            _waiting.Enqueue((command, sender));
            return;
        }
        DecideNow(command, sender);
    }

    private void DecideNow(object command, IActorRef sender)
    {
        _deciding = ConflictOf(command);
        var answersBefore = _answersGiven;
        try
        {
            Decide(command, sender);
        }
        catch (Exception error)
        {
            // A restart would lose every reply this instance owes (its writes in flight, the commands waiting): the
            // bug costs this command alone, refused typed unless it was already answered or owed an answer.
            Log.Error(error, "{0} failed to decide {1}; the command is refused and {0} goes on", PersistenceId, command.GetType().Name);
            if (_answersGiven == answersBefore)
                TryTell(sender, FailureFor(command, "the request could not be decided (a bug, logged); nothing was stored for it"));
        }
        finally
        {
            _deciding = Conflict.None;
        }
    }

    /// <summary>
    /// Tells <paramref name="target"/> <paramref name="message"/>; false when telling threw (an in-process ref of the
    /// caller's own, e.g. a custom transport). Logged: one bad ref must not cost the replies owed to the others.
    /// </summary>
    protected bool TryTell(IActorRef target, object message) => TryTell(target, message, Self);

    /// <inheritdoc cref="TryTell(IActorRef, object)"/>
    protected bool TryTell(IActorRef target, object message, IActorRef? sender)
    {
        try
        {
            target.Tell(message, sender);
            return true;
        }
        catch (Exception error)
        {
            Log.Error(error, "{0} could not tell {1} to {2}", PersistenceId, message.GetType().Name, target.Path);
            return false;
        }
    }

    private bool IsBlocked(Conflict conflict) => conflict.Kind switch
    {
        ConflictKind.None => false,
        ConflictKind.Everything => CommandsInFlight > 0,
        _ => _barrierWritesInFlight > 0 || _keysWriting.ContainsKey(conflict.Key!),
    };

    private void MarkWriting(Conflict conflict)
    {
        if (conflict.Kind == ConflictKind.Everything)
            _barrierWritesInFlight++;
        else if (conflict.Kind == ConflictKind.Key)
            _keysWriting[conflict.Key!] = _keysWriting.GetValueOrDefault(conflict.Key!) + 1;
    }

    private void Unmark(Conflict conflict)
    {
        if (conflict.Kind == ConflictKind.Everything)
            _barrierWritesInFlight--;
        else if (conflict.Kind == ConflictKind.Key && --_keysWriting[conflict.Key!] == 0)
            _keysWriting.Remove(conflict.Key!);
    }

    private void FlushPackIfIdle()
    {
        if (_writesInFlight > 0 || _openPack is not { } pack)
            return;
        _openPack = null;
        if (pack.Events.Count == 0)
        {
            // Only deferred replies were waiting for a write that has completed.
            _invocations.Enqueue(pack);
            DeferAsync(pack, _ => OnInvocationDone());
            return;
        }
        _writesInFlight++;
        pack.EndsWriteOf = pack.Events.Count;
        pack.Started = Stopwatch.GetTimestamp();
        _invocations.Enqueue(pack);
        if (pack.Events.Count == 1)
            PersistAsync(pack.Events[0], OnEventDurable);
        else
            PersistAsync(new EventBatch([.. pack.Events]), OnBatchDurable);
    }

    private void OnEventDurable(TEvent @event)
    {
        Apply(@event);
        OnInvocationDone();
    }

    private void OnBatchDurable(EventBatch batch)
    {
        foreach (var @event in batch.Events)
            Apply((TEvent)@event);
        OnInvocationDone();
    }

    /// <summary>The handler Akka owed for the oldest invocation ran: answer who it owes, snapshot, decide who waited.</summary>
    private void OnInvocationDone()
    {
        var done = Settle(owed => owed.Reply(LastSequenceNr));
        if (done.EndsWrite)
        {
            Metrics.JournalWritten(Stopwatch.GetElapsedTime(done.Started));
            MaybeSnapshot(done.EndsWriteOf);
        }
        FlushPackIfIdle();
        DecideWaiting();
        StopIfIdle();
    }

    /// <summary>The oldest invocation is over (written or rejected): send each reply it owes <paramref name="answer"/>.</summary>
    private Invocation Settle(Func<OwedReply, object> answer)
    {
        var done = _invocations.Dequeue();
        if (done.EndsWrite)
            _writesInFlight--;
        foreach (var owed in done.Replies)
        {
            CommandsInFlight--;
            Unmark(owed.Conflict);
            object reply;
            try
            {
                reply = answer(owed);
            }
            catch (Exception error)
            {
                // Its events are stored (or rejected) whatever the reply: the others of this write are still answered.
                Log.Error(error, "{0} failed to build a reply; the command is told its outcome is unknown", PersistenceId);
                if (owed.Command is null)
                    continue;
                reply = FailureFor(owed.Command, UnknownOutcome);
            }
            TryTell(owed.ReplyTo, reply);
        }
        return done;
    }

    private void DecideWaiting()
    {
        while (_waiting.TryPeek(out var next) && !IsBlocked(ConflictOf(next.Command)))
        {
            _waiting.Dequeue();
            DecideNow(next.Command, next.Sender);
        }
    }

    private void MaybeSnapshot(int events)
    {
        // Called only once a whole write is applied: a snapshot stamped with this sequence number holds exactly the
        // events up to it. It costs the whole state, so it is never taken more often than that cost in events.
        _eventsSinceSnapshot += events;
        if (_eventsSinceSnapshot < Math.Max(SnapshotEvery, SnapshotCost))
            return;
        _eventsSinceSnapshot = 0;
        SaveSnapshot(Snapshot());
    }

    private void StopIfIdle()
    {
        if (_stopWhenIdle && _invocations.Count == 0 && _openPack is null && _waiting.Count == 0)
            Context.Stop(Self);
    }

    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        // Nothing was stored and nothing applied: fail the commands of this write alone and carry on.
        Log.Error(cause, "Journal rejected {0} for {1}; the commands of that write are refused", Describe(@event), PersistenceId);
        Settle(owed => owed.Command is null
            ? owed.Reply(LastSequenceNr)
            : FailureFor(owed.Command, $"journal rejected the write ({cause.Message}); nothing was stored"));
        // Akka sends what is persisted from here only after the next command or successful write: decide the
        // commands that waited for this write from a message of our own, not here.
        Self.Tell(ContinueAfterRejection.Instance);
    }

    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        Log.Error(cause, "Journal write of {0} failed for {1}; stopping to recover what was stored", Describe(@event), PersistenceId);
        // Akka stops us once this returns: from here the parent holds our messages, before anyone is told of the failure.
        _intake.Stopping(Context);
        var owed = _invocations.SelectMany(i => i.Replies).Concat(_openPack?.Replies ?? []);
        foreach (var reply in owed)
            TryTell(reply.ReplyTo, reply.Command is null ? reply.Reply(LastSequenceNr) : FailureFor(reply.Command, UnknownOutcome));
        foreach (var (command, sender) in _waiting)
            TryTell(sender, FailureFor(command, "journal write failed; this request was not carried out: retry"));
        _invocations.Clear();
        _waiting.Clear();
        _openPack = null;
        // The base stops the actor; its parent recreates it with backoff and recovery reads what was stored.
        base.OnPersistFailure(cause, @event, sequenceNr);
    }

    protected override void PreRestart(Exception reason, object message)
    {
        _intake.Restarting(Context);
        // A passivation this instance took outlives it: its parent buffers our next messages until we stop, and asks
        // only once. The next instance takes it behind its recovery.
        if (_stopWhenIdle)
            Self.Tell(StopPassivated.Instance);
        base.PreRestart(reason, message);
    }

    public override void AroundPostStop()
    {
        // Before the parent sees us terminate: it refuses, typed, whatever it handed us that we never took.
        _intake.Stopped(Context);
        base.AroundPostStop();
    }

    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        Log.Error(reason, "Recovery of {0} failed", PersistenceId);
        base.OnRecoveryFailure(reason, message);
    }

    /// <summary>A reply owed once a write (or the writes before a read) is durable.</summary>
    private sealed record OwedReply(object? Command, IActorRef ReplyTo, Func<long, object> Reply, Conflict Conflict);

    /// <summary>
    /// A handler invocation Akka owes: an event of a write (the last one carries the write's replies), a packed
    /// write, or a deferred reply.
    /// </summary>
    private sealed class Invocation
    {
        /// <summary>An event of a multi-event write that is not its last.</summary>
        public static readonly Invocation Continued = new();

        public Invocation() { }

        public Invocation(OwedReply owed, int endsWriteOf)
        {
            Replies.Add(owed);
            EndsWriteOf = endsWriteOf;
        }

        private List<TEvent>? _events;

        /// <summary>The events of a pack not written yet (only packs have them: most invocations never ask).</summary>
        public List<TEvent> Events => _events ??= [];

        public List<OwedReply> Replies { get; } = [];

        /// <summary>When the write this invocation completes was handed to Akka (a <see cref="Stopwatch"/> timestamp).</summary>
        public long Started { get; set; }

        /// <summary>When this invocation completes a write: how many events that write held; else 0.</summary>
        public int EndsWriteOf { get; set; }

        public bool EndsWrite => EndsWriteOf > 0;
    }

    private sealed class ContinueAfterRejection : INoSerializationVerificationNeeded
    {
        public static readonly ContinueAfterRejection Instance = new();
    }
}

/// <summary>What a command's decision depends on among the writes in flight.</summary>
public enum ConflictKind { None, Key, Everything }

/// <summary>
/// What a command must wait for before it is decided: nothing (it reads no state that a write in flight changes),
/// the writes of one key, or every write (sweeps, whole-state reads, capacity decisions).
/// </summary>
public readonly record struct Conflict(ConflictKind Kind, string? Key)
{
    public static Conflict None => default;

    public static Conflict Everything => new(ConflictKind.Everything, null);

    /// <summary>The writes of one key; a missing key (a malformed request, rejected without a write) waits for nothing.</summary>
    public static Conflict On(string? key) => key is null ? None : new(ConflictKind.Key, key);
}
