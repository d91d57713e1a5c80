using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Liminal.Actors.Persistence;

namespace Liminal.Actors.Dedup;

/// <summary>
/// One shard of the idempotency-key space. Claims of one key serialize through this mailbox; the journal
/// (PersistenceId <c>dedup-{namespace}-{shard}</c>) is the dedup log.
/// </summary>
/// <remarks>
/// Commands are decided against the <em>projected</em> state (durable events plus those still being written),
/// so a duplicate of a claim that is not durable yet is already answered <c>InFlight</c>. Writes are group
/// commits (<see cref="WriteBatcher{TEvent}"/>): the events of every command that arrives while a write is in
/// flight go to the journal together, as one atomic write, when it completes; so throughput is not one journal
/// round trip per claim. Every reply is sent only once everything it rests on is durable. A failed write
/// answers each owed reply with <see cref="DedupRejection.PersistFailed"/> and stops the shard; its parent
/// restarts it with backoff and it recovers from the journal, dropping the projection.
/// </remarks>
public sealed class DedupShard : UntypedPersistentActor, IWithTimers
{
    private readonly DedupShardSettings _settings;
    private readonly WriteBatcher<IDedupEvent> _batcher = new();
    // Two copies: the projection decides, the durable one is what snapshots save.
    private DedupShardState _durable = DedupShardState.Empty;
    private DedupShardState _projected = DedupShardState.Empty;
    private long _eventsSinceSnapshot;

    public DedupShard(DedupShardSettings settings, int shard)
    {
        _settings = settings;
        PersistenceId = $"dedup-{settings.Namespace}-{shard}";
    }

    public static Props Props(DedupShardSettings settings, int shard) =>
        Akka.Actor.Props.Create(() => new DedupShard(settings, shard));

    public override string PersistenceId { get; }

    public ITimerScheduler Timers { get; set; } = null!;

    private long NowMillis => _settings.Clock.GetUtcNow().ToUnixTimeMilliseconds();

    protected override void OnRecover(object message)
    {
        switch (message)
        {
            case SnapshotOffer { Snapshot: DedupShardSnapshot snapshot }:
                _durable = DedupShardState.FromSnapshot(snapshot);
                break;
            case IDedupEvent @event:
                _durable = DedupShardState.Apply(_durable, @event);
                _eventsSinceSnapshot++;
                break;
            case RecoveryCompleted:
                _projected = _durable.Copy();
                Timers.StartPeriodicTimer("sweep", SweepTick.Instance, _settings.SweepInterval);
                break;
        }
    }

    protected override void OnCommand(object message)
    {
        switch (message)
        {
            case SweepTick:
                Handle(SweepExpired.Instance, ActorRefs.Nobody);
                break;
            case IDedupKeyCommand or SweepExpired:
                Handle(message, Sender);
                break;
            case SaveSnapshotSuccess saved:
                DeleteSnapshots(new SnapshotSelectionCriteria(saved.Metadata.SequenceNr - 1));
                break;
            case SaveSnapshotFailure failed:
                Log.Warning(failed.Cause, "Snapshot of {0} failed; recovery replays more events until the next one", PersistenceId);
                break;
            case DeleteSnapshotsSuccess or DeleteSnapshotsFailure:
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    private void Handle(object command, IActorRef replyTo)
    {
        var outcome = DedupShardState.Decide(_projected, command, _settings.Policy, NowMillis);
        if (outcome.Events.Count == 0)
        {
            _batcher.ReplyWhenDurable(Self, replyTo, outcome.Reply, FailureFor(command));
            return;
        }

        foreach (var @event in outcome.Events)
            _projected = DedupShardState.Apply(_projected, @event);
        _batcher.Add(outcome.Events, replyTo, outcome.Reply, FailureFor(command));
        WriteNextBatch();
    }

    private void WriteNextBatch()
    {
        if (_batcher.TakeNextBatch() is not { } batch)
            return;
        var last = batch[^1];
        PersistAllAsync(batch, @event =>
        {
            _durable = DedupShardState.Apply(_durable, @event);
            MaybeSnapshot();
            if (!ReferenceEquals(@event, last))
                return;
            _batcher.Written(Self);
            WriteNextBatch();
        });
    }

    private void MaybeSnapshot()
    {
        // A snapshot costs the whole state: never take one more often than the state has entries, so its cost
        // stays at most one entry per event while replay stays bounded by max(snapshot-every, entries).
        if (++_eventsSinceSnapshot < Math.Max(_settings.SnapshotEvery, _durable.Count))
            return;
        _eventsSinceSnapshot = 0;
        SaveSnapshot(_durable.ToSnapshot());
    }

    private static object FailureFor(object command) => command switch
    {
        IDedupKeyCommand keyed => new DedupRejected(keyed.Key, DedupRejection.PersistFailed) { Detail = "journal write failed" },
        _ => new SweepFailed("journal write failed"),
    };

    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        Log.Error(cause, "Journal write of {0} failed for {1}; restarting from the journal", @event.GetType().Name, PersistenceId);
        _batcher.FailAll(Self);
        // The base stops the shard; the parent recreates it with backoff and it recovers its durable state.
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

    private sealed class SweepTick : INoSerializationVerificationNeeded
    {
        public static readonly SweepTick Instance = new();
    }
}

/// <summary>What every dedup shard needs from <see cref="LiminalSettings"/>.</summary>
public sealed record DedupShardSettings(
    string Namespace,
    DedupPolicy Policy,
    TimeSpan SweepInterval,
    long SnapshotEvery,
    TimeProvider Clock);
