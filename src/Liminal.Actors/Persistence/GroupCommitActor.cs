using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Liminal.Actors.Entities;

namespace Liminal.Actors.Persistence;

/// <summary>
/// The write path every Liminal persistent actor shares: decide against a projection, group-commit events,
/// reply once durable, snapshot, and fail every owed reply when the journal fails.
/// </summary>
/// <remarks>
/// Commands are decided against the <em>projected</em> state (durable events plus those still being written), so a
/// request that arrives while its predecessor's events are in flight already sees them. Writes are group commits
/// (<see cref="WriteBatcher{TEvent}"/>): the events of every command that arrives while a write is in flight go to
/// the journal together, as one atomic write, when it completes, so throughput is not one journal round trip per
/// request. Every reply is sent only once everything it rests on is durable. A failed write answers each owed
/// reply with its typed failure and stops the actor; its parent recreates it with backoff and it recovers from
/// the journal, dropping the projection. Subclasses keep two copies of their state: the projection decides,
/// the durable copy is what snapshots save.
/// </remarks>
public abstract class GroupCommitActor<TEvent> : UntypedPersistentActor where TEvent : class, ILiminalEvent
{
    private readonly WriteBatcher<TEvent> _batcher = new();
    private long _eventsSinceSnapshot;
    private bool _stopWhenWritten;

    /// <summary>
    /// The sequence number the last decided event has (or will have, once durable); meaningless in an actor that
    /// <see cref="PackWrites"/>, whose rows hold several events.
    /// </summary>
    protected long ProjectedSequenceNr { get; private set; }

    /// <summary>
    /// Writes each group commit of several events as one <see cref="EventBatch"/> row instead of a row per event.
    /// For actors whose journal sequence numbers are not part of their contract (they no longer count events).
    /// </summary>
    protected virtual bool PackWrites => false;

    /// <summary>Events between snapshots.</summary>
    protected abstract long SnapshotEvery { get; }

    /// <summary>Restores the durable state from a snapshot taken by <see cref="DurableSnapshot"/>.</summary>
    protected abstract void RestoreSnapshot(object snapshot);

    /// <summary>Folds a durable event (replayed, or just written) into the durable state.</summary>
    protected abstract void ApplyDurable(TEvent @event);

    /// <summary>Folds a decided event into the projection.</summary>
    protected abstract void ApplyProjected(TEvent @event);

    /// <summary>Recovery is over: make the projection a copy of the durable state, start timers.</summary>
    protected abstract void OnRecovered();

    /// <summary>The durable state as a snapshot.</summary>
    protected abstract object DurableSnapshot();

    /// <summary>How many events a snapshot must at least wait, given what it costs (e.g. the number of entries).</summary>
    protected virtual long SnapshotCost => 0;

    /// <summary>Called once a newly written event is durable (not during recovery), in sequence order.</summary>
    protected virtual void OnEventDurable(TEvent @event) { }

    /// <summary>Handles a command that is not the base's own.</summary>
    protected abstract void OnRequest(object message);

    protected sealed override void OnRecover(object message)
    {
        switch (message)
        {
            case SnapshotOffer offer:
                RestoreSnapshot(offer.Snapshot);
                break;
            case TEvent @event:
                ApplyDurable(@event);
                _eventsSinceSnapshot++;
                break;
            case EventBatch batch:
                foreach (var @event in batch.Events)
                {
                    ApplyDurable((TEvent)@event);
                    _eventsSinceSnapshot++;
                }
                break;
            case RecoveryCompleted:
                ProjectedSequenceNr = LastSequenceNr;
                OnRecovered();
                break;
        }
    }

    protected sealed override void OnCommand(object message)
    {
        switch (message)
        {
            case SaveSnapshotSuccess saved:
                DeleteSnapshots(new SnapshotSelectionCriteria(saved.Metadata.SequenceNr - 1));
                break;
            case SaveSnapshotFailure failed:
                Log.Warning(failed.Cause, "Snapshot of {0} failed; recovery replays more events until the next one", PersistenceId);
                break;
            case DeleteSnapshotsSuccess or DeleteSnapshotsFailure:
                break;
            case ReceiveTimeout:
                // Idle: ask the parent to passivate us; it buffers our messages until we have stopped.
                Context.SetReceiveTimeout(null);
                Context.Parent.Tell(new Passivate(StopPassivated.Instance));
                break;
            case StopPassivated:
                StopWhenWritten();
                break;
            default:
                OnRequest(message);
                break;
        }
    }

    /// <summary>Passivates (through the parent, see <see cref="Passivate"/>) after this long without a message.</summary>
    protected void PassivateWhenIdle(TimeSpan idleTimeout) => Context.SetReceiveTimeout(idleTimeout);

    /// <summary>Carries out a decision: persists its events and replies once durable, or replies once what it rests on is.</summary>
    protected void Carry(IReadOnlyList<TEvent> events, IActorRef replyTo, object reply, object failure)
    {
        if (events.Count == 0)
            ReplyWhenDurable(replyTo, reply, failure);
        else
            Commit(events, replyTo, reply, failure);
    }

    /// <summary>
    /// Applies <paramref name="events"/> to the projection and queues them for the next group commit;
    /// <paramref name="reply"/> goes to <paramref name="replyTo"/> once they are durable, else <paramref name="failure"/>.
    /// </summary>
    protected void Commit(IReadOnlyList<TEvent> events, IActorRef replyTo, object reply, object failure)
    {
        foreach (var @event in events)
            ApplyProjected(@event);
        ProjectedSequenceNr += events.Count;
        _batcher.Add(events, replyTo, reply, failure);
        WriteNextBatch();
    }

    /// <summary>Replies to a command that persisted nothing, once the events its decision may rest on are durable.</summary>
    protected void ReplyWhenDurable(IActorRef replyTo, object reply, object failure) =>
        _batcher.ReplyWhenDurable(Self, replyTo, reply, failure);

    /// <summary>Stops the actor once nothing it decided is still being written (for passivation).</summary>
    private void StopWhenWritten()
    {
        if (_batcher.HasPendingWrites)
            _stopWhenWritten = true;
        else
            Context.Stop(Self);
    }

    private void WriteNextBatch()
    {
        if (_batcher.TakeNextBatch() is not { } batch)
        {
            if (_stopWhenWritten && !_batcher.HasPendingWrites)
                Context.Stop(Self);
            return;
        }
        if (PackWrites && batch.Count > 1)
        {
            PersistAsync(new EventBatch([.. batch]), _ =>
            {
                foreach (var @event in batch)
                    Durable(@event);
                BatchWritten();
            });
            return;
        }
        var last = batch[^1];
        PersistAllAsync(batch, @event =>
        {
            Durable(@event);
            if (ReferenceEquals(@event, last))
                BatchWritten();
        });
    }

    private void Durable(TEvent @event)
    {
        ApplyDurable(@event);
        OnEventDurable(@event);
        MaybeSnapshot();
    }

    private void BatchWritten()
    {
        _batcher.Written(Self);
        WriteNextBatch();
    }

    private void MaybeSnapshot()
    {
        // A snapshot costs the whole state: never take one more often than that cost in events, so it stays
        // amortized while replay stays bounded by max(snapshot-every, cost).
        if (++_eventsSinceSnapshot < Math.Max(SnapshotEvery, SnapshotCost))
            return;
        _eventsSinceSnapshot = 0;
        SaveSnapshot(DurableSnapshot());
    }

    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        Log.Error(cause, "Journal write of {0} failed for {1}; restarting from the journal", @event.GetType().Name, PersistenceId);
        _batcher.FailAll(Self);
        // The base stops the actor; its parent recreates it with backoff and it recovers its durable state.
        base.OnPersistFailure(cause, @event, sequenceNr);
    }

    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        Log.Error(cause, "Journal rejected {0} for {1}; restarting from the journal", @event.GetType().Name, PersistenceId);
        _batcher.FailAll(Self);
        // The projection already holds the rejected event: recover to the durable truth.
        Context.Stop(Self);
    }

    protected override void OnRecoveryFailure(Exception reason, object? message = null)
    {
        Log.Error(reason, "Recovery of {0} failed", PersistenceId);
        base.OnRecoveryFailure(reason, message);
    }

    private sealed class StopPassivated : INoSerializationVerificationNeeded
    {
        public static readonly StopPassivated Instance = new();
    }
}
