using Akka;
using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Akka.Persistence.Query;
using Akka.Persistence.Sql.Query;
using Akka.Streams.Dsl;
using Liminal.Actors.Persistence;

namespace Liminal.Actors.Channels;

/// <summary>A validated publish for one durable partition, handed to the given subscribers once stored. The sender is the publisher.</summary>
internal sealed record AppendToPartition(Publish Publish, IActorRef[] Subscribers) : INoSerializationVerificationNeeded;

/// <summary>
/// Told by partition 0 to its router after each recovery: the keys it holds that a version before the key window
/// stored there because they had no partition key. A retry of such a key without one is routed to partition 0, not by
/// the key's hash, so it is still a duplicate after the upgrade.
/// </summary>
internal sealed record LegacyKeysRecovered(IReadOnlyCollection<string> Keys) : INoSerializationVerificationNeeded;

/// <summary>Deletes every message the partition has stored; answered <see cref="PartitionPurged"/> once deleted, or <see cref="ChannelRejected"/>.</summary>
internal sealed record PurgePartition(int Partition) : INoSerializationVerificationNeeded;

/// <summary>A partition is purged: <c>FirstRetained</c> is the sequence number its next message gets.</summary>
internal sealed record PartitionPurged(int Partition, long FirstRetained) : INoSerializationVerificationNeeded;

/// <summary>How a channel's partitions keep the keys published to them (SPEC §2.4) and how many publishes they take on at once.</summary>
public sealed record PartitionSettings(TimeSpan DedupWindow, int MaxKeysPerPartition, long SnapshotEvery, TimeProvider Clock)
{
    /// <summary>The default of <see cref="MaxPublishesInFlight"/> (<c>liminal.channel-limits.max-publishes-in-flight</c>).</summary>
    public const int DefaultMaxPublishesInFlight = 10_000;

    /// <summary>Publishes a partition has in flight at most (being written, or waiting for a write of their key); beyond it, Overloaded.</summary>
    public int MaxPublishesInFlight { get; init; } = DefaultMaxPublishesInFlight;

    /// <summary><c>liminal.max-payload-bytes</c>: a larger publish gets <see cref="PublishFailure.PayloadTooLarge"/>.</summary>
    public int MaxPayloadBytes { get; init; } = Validation.InputRules.DefaultMaxPayloadBytes;
}

/// <summary>
/// One partition of a durable channel (PersistenceId <c>channel-{name}-{partition}</c>): its journal is the
/// partition's log, the sequence number is the position, and it alone decides whether a key is new (SPEC §2.4).
/// A keyed publish is one write (the message carrying its key), group-committed with the other writes of the
/// moment; once durable the message goes to the subscribers in sequence order and the publisher gets its ack.
/// A duplicate of a stored key is answered from the key window with the original position, nothing written; a
/// duplicate of a key whose write is in flight waits for that write and gets the same answer, or the same failure.
/// </summary>
/// <remarks>
/// The key window is rebuilt on recovery from the snapshot and the messages after it, so a key stays known
/// however far back its message is. Snapshots hold the window and the retention state, never messages; messages are
/// deleted only by the channel's limits or a purge (<see cref="PartitionRetention"/>, SPEC §3), and a key is forgotten
/// with its message.
/// </remarks>
public sealed class ChannelPartition : PersistentEntity<MessageAppended>, IWithTimers
{
    /// <summary>How often a partition with a <c>MaxAge</c> compares its oldest messages with the clock, and a failed delete is retried.</summary>
    public static readonly TimeSpan RetentionInterval = TimeSpan.FromSeconds(1);

    private readonly PartitionRetention _retention;
    // Purges waiting for their deletes: who asked, up to which sequence number, and what to answer.
    private readonly List<(IActorRef Requester, long UpTo)> _purges = [];
    private long? _firstReplayed;
    private long? _snapshotSequenceNr;
    private bool _deleteFailureLogged;

    private readonly string _channel;
    private readonly int _partition;
    private readonly PartitionSettings _settings;
    private readonly KeyWindow _window;
    // Keys whose write is in flight, with the duplicates that wait for it.
    private readonly Dictionary<string, List<IActorRef>?> _writing = new(StringComparer.Ordinal);
    private int _waitingDuplicates;
    private readonly Metrics.LiminalMetrics _metrics = Metrics.LiminalMetrics.For(Context.System);
    private readonly Metrics.LiminalMetrics.Gauge _windowGauge;
    private readonly Metrics.LiminalMetrics.Gauge _inFlightGauge;
    private readonly long _recoveredAtMillis;
    // Keys in the window stored by a version before it (no time in their message; see LegacyKeysRecovered).
    private readonly long _startedAt = System.Diagnostics.Stopwatch.GetTimestamp();
    private long _replayed;
    private long _evictedSinceLog;
    private long _lastEvictionLogMillis = long.MinValue / 2;
    private readonly HashSet<string> _legacyKeys = new(StringComparer.Ordinal);
    // The durable consumers of this partition: each is told every message stored after it started watching.
    private readonly List<IActorRef> _consumers = [];

    public ITimerScheduler Timers { get; set; } = null!;

    public ChannelPartition(string channel, int partition, PartitionSettings settings, RetentionLimits? limits = null)
    {
        _retention = new PartitionRetention(limits ?? RetentionLimits.None);
        _channel = channel;
        _partition = partition;
        _settings = settings;
        _window = new KeyWindow(settings.DedupWindow, settings.MaxKeysPerPartition);
        PersistenceId = PersistenceIdOf(channel, partition);
        _recoveredAtMillis = Now;
        (_windowGauge, _inFlightGauge) = _metrics.PartitionGauges(channel, partition);
    }

    public static string PersistenceIdOf(string channel, int partition) => $"channel-{channel}-{partition}";

    public static Props Props(string channel, int partition, PartitionSettings settings, RetentionLimits? limits = null) =>
        Akka.Actor.Props.Create(() => new ChannelPartition(channel, partition, settings, limits));

    /// <summary>The stored messages of a partition from one sequence number to another, read from the SQL journal.</summary>
    public static Source<EventEnvelope, NotUsed> ReadLog(ActorSystem system, string channel, int partition, long fromSequenceNr, long toSequenceNr) =>
        PersistenceQuery.Get(system)
            .ReadJournalFor<SqlReadJournal>(SqlReadJournal.Identifier)
            .CurrentEventsByPersistenceId(PersistenceIdOf(channel, partition), Math.Max(1, fromSequenceNr), toSequenceNr);

    public override string PersistenceId { get; }

    protected override bool AroundReceive(Receive receive, object message)
    {
        var handled = base.AroundReceive(receive, message);
        // After every message (recovery, commands, journal replies): what the gauges read is never older than that.
        _windowGauge.Value = _window.Count;
        _inFlightGauge.Value = CommandsInFlight + _waitingDuplicates;
        return handled;
    }

    protected override void PostStop()
    {
        FailPurges("the partition stopped before its purge was deleted; retry");
        _windowGauge.Dispose();
        _inFlightGauge.Dispose();
        base.PostStop();
    }

    protected override long SnapshotEvery => _settings.SnapshotEvery;

    // A snapshot writes the whole window: take one at most every quarter of its size in messages.
    protected override long SnapshotCost => _window.Count / 4;

    protected override void RestoreSnapshot(object snapshot)
    {
        var window = (ChannelPartitionSnapshot)snapshot;
        for (var i = 0; i < window.Keys.Length; i++)
            _window.Add(window.Keys[i], new StoredKey(window.SequenceNrs[i], window.StoredAtMillis[i]));
        _legacyKeys.UnionWith(window.LegacyKeys ?? []);
        // Akka sets LastSequenceNr to the snapshot's before offering it.
        _snapshotSequenceNr = LastSequenceNr;
        var ages = window.AgeSequenceNrs?.Zip(window.AgeStoredAtMillis ?? [], (sequenceNr, at) => new AgeSegment(sequenceNr, at)).ToList();
        _retention.Restore(LastSequenceNr, window.FirstRetained ?? 1, ages, _recoveredAtMillis);
        _window.ForgetStoredBefore(_retention.FirstRetained);
    }

    protected override void OnRecovered()
    {
        Log.Info("Channel {0} partition {1} recovered in {2} ms: {3} keys in its window, {4} messages replayed after the snapshot, next sequence number {5}",
            _channel, _partition, (long)System.Diagnostics.Stopwatch.GetElapsedTime(_startedAt).TotalMilliseconds, _window.Count, _replayed, LastSequenceNr + 1);
        if (_retention.Recovered(LastSequenceNr, _firstReplayed, _snapshotSequenceNr) is { } unknown)
            AskWhereTheLogStarts(unknown.From, unknown.To);
        else
            RetentionAdvanced();
        if (_retention.Limits.MaxAge is not null)
            Timers.StartPeriodicTimer(RetentionTick.Instance, RetentionTick.Instance, RetentionInterval);
        var now = Now;
        _legacyKeys.RemoveWhere(key => _window.Find(key, now) is null);
        if (_partition == 0)
            Context.Parent.Tell(new LegacyKeysRecovered([.. _legacyKeys]));
    }

    /// <summary>Messages deleted after the snapshot are not replayed and leave no trace in it: the journal says where the log starts.</summary>
    private void AskWhereTheLogStarts(long from, long to)
    {
        var journal = Akka.Persistence.Persistence.Instance.Apply(Context.System).JournalFor(JournalPluginId);
        Context.ActorOf(FirstRetainedQuery.Props(journal, PersistenceId, from, to));
    }

    /// <summary>Forgets the keys of deleted messages, answers the purges that are done and deletes what is due next.</summary>
    private void RetentionAdvanced()
    {
        _window.ForgetStoredBefore(_retention.FirstRetained);
        for (var i = _purges.Count - 1; i >= 0; i--)
        {
            var (requester, upTo) = _purges[i];
            if (!_retention.DeletedUpTo(upTo))
                continue;
            _purges.RemoveAt(i);
            TryTell(requester, new PartitionPurged(_partition, upTo + 1));
        }
        if (_retention.NextDelete(Now) is { } toSequenceNr)
            DeleteMessages(toSequenceNr);
    }

    protected override bool OnOtherMessage(object message)
    {
        switch (message)
        {
            case DeleteMessagesSuccess deleted:
                var count = _retention.Deleted(deleted.ToSequenceNr);
                _metrics.RetentionDeleted(_channel, count);
                _deleteFailureLogged = false;
                RetentionAdvanced();
                return true;
            case DeleteMessagesFailure failed:
                _retention.DeleteFailed();
                // Once per run of failures, not per retry; the partition goes on storing and serving meanwhile.
                if (!_deleteFailureLogged)
                    Log.Warning(failed.Cause, "Channel {0} partition {1}: deleting messages up to {2} failed; retrying every {3}",
                        _channel, _partition, failed.ToSequenceNr, RetentionInterval);
                _deleteFailureLogged = true;
                FailPurges($"deleting its messages failed ({failed.Cause.Message}); the partition retries, and a purge sent again answers once they are deleted");
                Timers.StartSingleTimer(RetryDelete.Instance, RetentionTick.Instance, RetentionInterval);
                return true;
            case RetentionTick:
                RetentionAdvanced();
                return true;
            case FirstRetainedFound found:
                _retention.FirstRetainedFound(found.FirstRetained);
                RetentionAdvanced();
                return true;
            case FirstRetainedNotFound notFound:
                Log.Warning("Channel {0} partition {1}: where its log starts after the restart could not be read ({2}); nothing is deleted " +
                            "until it is, asking again in {3}", _channel, _partition, notFound.Reason, RetentionInterval);
                Timers.StartSingleTimer(RetryDelete.Instance, new AskFirstRetained(notFound.From, notFound.To), RetentionInterval);
                return true;
            case AskFirstRetained ask:
                AskWhereTheLogStarts(ask.From, ask.To);
                return true;
            case Consumers.WatchPartition watch:
                // Everything up to LastSequenceNr has been stored and handed out; every later message goes to the consumer.
                if (!_consumers.Contains(watch.Consumer))
                {
                    _consumers.Add(watch.Consumer);
                    Context.Watch(watch.Consumer);
                }
                watch.Consumer.Tell(new Consumers.PartitionWatched(LastSequenceNr));
                return true;
            case Consumers.GetLastSequenceNr:
                Sender.Tell(new Consumers.LastSequenceNr(_partition, LastSequenceNr));
                return true;
            case Terminated terminated:
                _consumers.Remove(terminated.ActorRef);
                return true;
            default:
                return false;
        }
    }

    private void FailPurges(string detail)
    {
        foreach (var (requester, _) in _purges)
            TryTell(requester, new ChannelRejected(_channel, $"partition {_partition}: {detail}"));
        _purges.Clear();
    }

    protected override object Snapshot()
    {
        var (keys, sequenceNrs, storedAt) = _window.ToColumns();
        var ages = _retention.Limits.MaxAge is null ? null : _retention.Ages;
        return new ChannelPartitionSnapshot(keys, sequenceNrs, storedAt)
        {
            LegacyKeys = _legacyKeys.Count == 0 ? null : [.. _legacyKeys.Where(_window.Contains)],
            // Kept out of partitions that never deleted and have no limits, so their snapshots stay as they were.
            FirstRetained = _retention.FirstRetained > 1 || _retention.Limits.Any ? _retention.FirstRetained : null,
            AgeSequenceNrs = ages?.Select(segment => segment.UpToSequenceNr).ToArray(),
            AgeStoredAtMillis = ages?.Select(segment => segment.NewestStoredAtMillis).ToArray(),
        };
    }

    protected override void Apply(MessageAppended @event)
    {
        if (IsRecovering)
        {
            _replayed++;
            _firstReplayed ??= LastSequenceNr;
        }
        // Messages stored before the window existed carry no time: they count from this start (kept longer, not shorter).
        _retention.Appended(LastSequenceNr, @event.StoredAtMillis ?? _recoveredAtMillis);
        if (!IsRecovering && _retention.Limits.Any)
            RetentionAdvanced();
        if (@event.IdempotencyKey is not { } key)
            return;
        // Messages stored before the window existed carry no time: they count from this start (kept longer, not shorter).
        // A legacy key stored here again stays one: the router sends it here, not by its hash, until it leaves the window.
        if (@event.StoredAtMillis is null)
            _legacyKeys.Add(key);
        var evicted = _window.Add(key, new StoredKey(LastSequenceNr, @event.StoredAtMillis ?? _recoveredAtMillis));
        if (evicted > 0 && !IsRecovering)
        {
            _metrics.DedupWindowEvicted(_channel, evicted);
            _evictedSinceLog += evicted;
            // A full window evicts on every new key: say so once a minute, not per key.
            if (@event.StoredAtMillis is { } at && at - _lastEvictionLogMillis >= 60_000)
            {
                Log.Warning("Channel {0} partition {1}: {2} keys evicted from a full dedup window ({3} keys) since the last report; " +
                            "re-publishing one of them stores it again", _channel, _partition, _evictedSinceLog, _settings.MaxKeysPerPartition);
                _evictedSinceLog = 0;
                _lastEvictionLogMillis = at;
            }
        }
    }

    // Appends depend on no state but the key window, and a key in flight is handled here: nothing waits in the base. A
    // purge deletes up to the last message written before it, so it waits for the writes in flight.
    protected override Conflict ConflictOf(object command) => command is PurgePartition ? Conflict.Everything : Conflict.None;

    protected override void Decide(object command, IActorRef sender)
    {
        switch (command)
        {
            case AppendToPartition append:
                Append(append, sender);
                break;
            case DrainPublishes:
                // Behind every write issued before it.
                Reply(sender, Drained.Instance);
                break;
            case PurgePartition:
                _retention.Purge();
                _purges.Add((sender, LastSequenceNr));
                RetentionAdvanced();
                break;
            default:
                Unhandled(command);
                break;
        }
    }

    private void Append(AppendToPartition append, IActorRef publisher)
    {
        var key = append.Publish.IdempotencyKey;
        var now = Now;
        if (key is not null && _window.Find(key, now) is { } stored)
        {
            _metrics.DuplicateSuppressed(_channel);
            var ack = DuplicateAck(stored.SequenceNr!.Value);
            ChannelSpans.Ack(append.Publish.Envelope, ack);
            TryTell(publisher, ack);
            return;
        }
        // Admission: a publish taken on is answered only once its write is durable, and meanwhile holds its message
        // (and its reply's place) here. Beyond the bound it is refused at once, so a flood or a stalled journal never
        // grows this partition without limit. A stored key's duplicate above costs nothing and is answered anyway.
        if (CommandsInFlight + _waitingDuplicates >= _settings.MaxPublishesInFlight)
        {
            _metrics.PublishRejected(PublishFailure.Overloaded);
            TryTell(publisher, new PublishRejected(_channel, PublishFailure.Overloaded,
                $"partition {_partition} has {_settings.MaxPublishesInFlight} publishes in flight; retry later"));
            return;
        }
        if (key is not null)
        {
            if (_writing.TryGetValue(key, out var waiting))
            {
                (waiting ?? (_writing[key] = [])).Add(publisher);
                _waitingDuplicates++;
                return;
            }
            _writing.Add(key, null);
        }

        var envelope = append.Publish.Envelope;
        var subscribers = append.Subscribers;
        var storeStarted = Tracing.LiminalTracing.Enabled ? DateTimeOffset.UtcNow : default;
        Persist([MessageAppended.From(envelope, key, now)], append, publisher, sequenceNr =>
        {
            ChannelSpans.Store(_channel, _partition, envelope, sequenceNr, storeStarted);
            // Durable: hand it to the subscribers, in sequence order (handlers run in write order). A subscriber ref
            // that throws (a caller's own in-process ref) is not delivered to; the others and this write's replies go on.
            var delivery = new Delivery(_channel, _partition, sequenceNr, envelope);
            var delivered = subscribers.Count(subscriber => TryTell(subscriber, delivery, ActorRefs.NoSender));
            foreach (var consumer in _consumers)
                TryTell(consumer, delivery, ActorRefs.NoSender);
            ChannelSpans.Deliver(delivery, delivered);
            _metrics.Published(_channel, delivered);
            if (key is not null && _writing.Remove(key, out var duplicates) && duplicates is not null)
            {
                _waitingDuplicates -= duplicates.Count;
                var duplicateAck = DuplicateAck(sequenceNr);
                foreach (var duplicate in duplicates)
                {
                    _metrics.DuplicateSuppressed(_channel);
                    TryTell(duplicate, duplicateAck);
                }
            }
            var ack = new PublishAck(_channel, _partition, sequenceNr, delivered > 0, delivered, Duplicate: false, InFlight: false,
                key is null ? null : Receipts.For(_channel, _partition, sequenceNr));
            ChannelSpans.Ack(envelope, ack);
            return ack;
        });
    }

    private PublishAck DuplicateAck(long sequenceNr) =>
        new(_channel, _partition, sequenceNr, Delivered: false, DeliveredCount: 0, Duplicate: true, InFlight: false,
            Receipts.For(_channel, _partition, sequenceNr));

    protected override object FailureFor(object command, string detail)
    {
        if (command is PurgePartition)
            return new ChannelRejected(_channel, $"partition {_partition}: {detail}");
        _metrics.PublishRejected(PublishFailure.PersistFailed);
        if (command is AppendToPartition append)
            ChannelSpans.Store(_channel, _partition, append.Publish.Envelope, null, default, detail);
        return new PublishRejected(_channel, PublishFailure.PersistFailed, detail);
    }

    // The journal's errors about a message name its trace, so its log line is found from the trace and back.
    protected override string Describe(object @event) =>
        @event is MessageAppended message ? $"a message of channel {_channel}{Tracing.LiminalTracing.LogSuffix(message.ToEnvelope())}" : base.Describe(@event);

    protected override void OnPersistRejected(Exception cause, object @event, long sequenceNr)
    {
        // Nothing was stored: the duplicates that waited get the original's failure and may retry.
        if (@event is MessageAppended { IdempotencyKey: { } key } && _writing.Remove(key, out var duplicates))
        {
            _waitingDuplicates -= duplicates?.Count ?? 0;
            Fail(duplicates, $"journal rejected the write ({cause.Message}); nothing was stored");
        }
        base.OnPersistRejected(cause, @event, sequenceNr);
    }

    protected override void OnPersistFailure(Exception cause, object @event, long sequenceNr)
    {
        // The base first: it tells the router we stop before anyone is answered, so a retry waits for the next incarnation.
        base.OnPersistFailure(cause, @event, sequenceNr);
        foreach (var duplicates in _writing.Values)
            Fail(duplicates, "journal write failed or timed out: whether it was stored is unknown; a retry finds out");
        _writing.Clear();
        _waitingDuplicates = 0;
    }

    private void Fail(List<IActorRef>? duplicates, string detail)
    {
        foreach (var duplicate in duplicates ?? [])
        {
            _metrics.PublishRejected(PublishFailure.PersistFailed);
            TryTell(duplicate, new PublishRejected(_channel, PublishFailure.PersistFailed, detail));
        }
    }

    private long Now => _settings.Clock.GetUtcNow().ToUnixTimeMilliseconds();

    private sealed class RetentionTick : INoSerializationVerificationNeeded
    {
        public static readonly RetentionTick Instance = new();
    }

    // The timer key of a single retry (a failed delete or query); the periodic age check has its own.
    private sealed class RetryDelete
    {
        public static readonly RetryDelete Instance = new();
    }

    private sealed record AskFirstRetained(long From, long To) : INoSerializationVerificationNeeded;
}
