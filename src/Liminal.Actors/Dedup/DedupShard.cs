using Akka.Actor;
using Liminal.Actors.Persistence;

namespace Liminal.Actors.Dedup;

/// <summary>
/// One shard of the idempotency-key space. Claims of one key serialize through this mailbox; the journal
/// (PersistenceId <c>dedup-{namespace}-{shard}</c>) is the dedup log. A duplicate of a claim that is not durable
/// yet is already answered <c>InFlight</c> (see <see cref="GroupCommitActor{TEvent}"/> for the write path).
/// </summary>
public sealed class DedupShard : GroupCommitActor<IDedupEvent>, IWithTimers
{
    private readonly DedupShardSettings _settings;
    private readonly DedupMetrics _metrics = new(Metrics.LiminalMetrics.For(Context.System));
    private DedupShardState _durable = DedupShardState.EmptyRecord;
    private DedupShardState _projected = DedupShardState.Empty;

    public DedupShard(DedupShardSettings settings, int shard)
    {
        _settings = settings;
        PersistenceId = $"dedup-{settings.Namespace}-{shard}";
    }

    public static Props Props(DedupShardSettings settings, int shard) =>
        Akka.Actor.Props.Create(() => new DedupShard(settings, shard));

    public override string PersistenceId { get; }

    public ITimerScheduler Timers { get; set; } = null!;

    protected override long SnapshotEvery => _settings.SnapshotEvery;

    protected override bool PackWrites => true;

    protected override long SnapshotCost => _durable.Count;

    private long NowMillis => _settings.Clock.GetUtcNow().ToUnixTimeMilliseconds();

    protected override void RestoreSnapshot(object snapshot) =>
        _durable = DedupShardState.FromSnapshot((DedupShardSnapshot)snapshot, indexed: false);

    protected override void ApplyDurable(IDedupEvent @event) => DedupShardState.Apply(_durable, @event);

    protected override void ApplyProjected(IDedupEvent @event) => DedupShardState.Apply(_projected, @event);

    protected override object DurableSnapshot() => _durable.ToSnapshot();

    protected override void OnRecovered()
    {
        _projected = _durable.Copy();
        Timers.StartPeriodicTimer("sweep", SweepTick.Instance, _settings.SweepInterval);
    }

    protected override void OnRequest(object message)
    {
        switch (message)
        {
            case SweepTick:
                Handle(SweepExpired.Instance, ActorRefs.Nobody);
                break;
            case IDedupKeyCommand or SweepExpired:
                Handle(message, Sender);
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    private void Handle(object command, IActorRef replyTo)
    {
        var outcome = DedupShardState.Decide(_projected, command, _settings.Policy, NowMillis);
        Carry(outcome.Events, replyTo, outcome.Reply, FailureFor(command));
        foreach (var @event in outcome.Events)
            _metrics.Counted(@event);
    }

    private static object FailureFor(object command) => command switch
    {
        IDedupKeyCommand keyed => new DedupRejected(keyed.Key, DedupRejection.PersistFailed) { Detail = "journal write failed" },
        _ => new SweepFailed("journal write failed"),
    };

    /// <summary>Counts claims and expirations as they are decided (a failed write restarts the shard; counts are not rolled back).</summary>
    private sealed class DedupMetrics(Metrics.LiminalMetrics metrics)
    {
        public void Counted(IDedupEvent @event)
        {
            switch (@event)
            {
                case KeyClaimed or KeyClaimedAndCompleted:
                    metrics.Claimed();
                    break;
                case KeysExpired expired:
                    metrics.Expired(expired.Keys.Length);
                    break;
            }
        }
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
