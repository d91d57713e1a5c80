using Akka;
using Akka.Actor;
using Akka.Event;
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
/// however far back its message is. Snapshots hold only the window; events are never deleted (SPEC §3).
/// </remarks>
public sealed class ChannelPartition : PersistentEntity<MessageAppended>
{
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

    public ChannelPartition(string channel, int partition, PartitionSettings settings)
    {
        _channel = channel;
        _partition = partition;
        _settings = settings;
        _window = new KeyWindow(settings.DedupWindow, settings.MaxKeysPerPartition);
        PersistenceId = PersistenceIdOf(channel, partition);
        _recoveredAtMillis = Now;
        (_windowGauge, _inFlightGauge) = _metrics.PartitionGauges(channel, partition);
    }

    public static string PersistenceIdOf(string channel, int partition) => $"channel-{channel}-{partition}";

    public static Props Props(string channel, int partition, PartitionSettings settings) =>
        Akka.Actor.Props.Create(() => new ChannelPartition(channel, partition, settings));

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
    }

    protected override void OnRecovered()
    {
        Log.Info("Channel {0} partition {1} recovered in {2} ms: {3} keys in its window, {4} messages replayed after the snapshot, next sequence number {5}",
            _channel, _partition, (long)System.Diagnostics.Stopwatch.GetElapsedTime(_startedAt).TotalMilliseconds, _window.Count, _replayed, LastSequenceNr + 1);
        var now = Now;
        _legacyKeys.RemoveWhere(key => _window.Find(key, now) is null);
        if (_partition == 0)
            Context.Parent.Tell(new LegacyKeysRecovered([.. _legacyKeys]));
    }

    protected override object Snapshot()
    {
        var (keys, sequenceNrs, storedAt) = _window.ToColumns();
        return new ChannelPartitionSnapshot(keys, sequenceNrs, storedAt)
        {
            LegacyKeys = _legacyKeys.Count == 0 ? null : [.. _legacyKeys.Where(_window.Contains)],
        };
    }

    protected override void Apply(MessageAppended @event)
    {
        if (IsRecovering)
            _replayed++;
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

    protected override bool OnOtherMessage(object message)
    {
        switch (message)
        {
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

    // Appends depend on no state but the key window, and a key in flight is handled here: nothing waits in the base.
    protected override Conflict ConflictOf(object command) => Conflict.None;

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
}
