using Akka.Actor;
using Liminal.Actors.Offsets;

namespace Liminal.Actors.Channels;

/// <summary>
/// Reads one durable channel partition for a named consumer: resumes after the consumer's committed offset
/// (stream <c>{channel}-{partition}</c>), replays what was stored since, then continues live, handing each message
/// to the target exactly once and in sequence order. The target answers each <see cref="Delivery"/> with
/// <see cref="Processed"/>; the consumer commits by its <see cref="CommitPolicy"/>. After a crash the target sees
/// again only what was processed but not yet committed.
/// </summary>
public sealed class ChannelConsumer : ReceiveActor, IWithStash, IWithTimers
{
    private static readonly TimeSpan GapRetryDelay = TimeSpan.FromMilliseconds(100);

    private readonly IActorRef _channels;
    private readonly IActorRef _offsets;
    private readonly string _consumer;
    private readonly string _channel;
    private readonly int _partition;
    private readonly IActorRef _target;
    private readonly CommitPolicy _policy;
    // Messages that arrived ahead of the next expected sequence number (live ones during a replay).
    private readonly SortedDictionary<long, Delivery> _ahead = [];
    private long _handedOver;
    private long _processed;
    private long _committed;
    private int _sinceCommit;
    private bool _replaying;
    private readonly List<(IActorRef Requester, long Offset)> _awaitingFlush = [];

    public ChannelConsumer(IActorRef channels, IActorRef offsets, string consumer, string channel, int partition, IActorRef target, CommitPolicy policy)
    {
        _channels = channels;
        _offsets = offsets;
        _consumer = consumer;
        _channel = channel;
        _partition = partition;
        _target = target;
        _policy = policy;
        Starting();
    }

    public IStash Stash { get; set; } = null!;

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IActorRef channels, IActorRef offsets, string consumer, string channel, int partition, IActorRef target, CommitPolicy policy) =>
        Akka.Actor.Props.Create(() => new ChannelConsumer(channels, offsets, consumer, channel, partition, target, policy));

    /// <summary>The offsets stream name a consumer of this partition commits to.</summary>
    public static string StreamOf(string channel, int partition) => $"{channel}-{partition}";

    private string Stream => StreamOf(_channel, _partition);

    protected override void PreStart() => _offsets.Tell(new GetOffset(_consumer, Stream));

    private void Starting()
    {
        Receive<CurrentOffset>(current =>
        {
            _committed = _processed = _handedOver = current.Offset ?? 0;
            // Live first, so nothing stored after the replay's read is missed; the replay fills in before it.
            _channels.Tell(new Subscribe(_channel, Self));
        });
        Receive<Subscribed>(_ =>
        {
            Become(Reading);
            Stash.UnstashAll();
            StartReplay();
        });
        Receive<ChannelRejected>(rejected => throw new InvalidOperationException($"consumer {_consumer} cannot read {_channel}: {rejected.Reason}"));
        Receive<OffsetRequestRejected>(rejected => throw new InvalidOperationException($"consumer {_consumer}: {rejected.Reason}"));
        ReceiveAny(_ => Stash.Stash());
    }

    private void Reading()
    {
        Receive<Delivery>(delivery =>
        {
            if (delivery.Partition != _partition || delivery.SequenceNr is not { } sequenceNr || sequenceNr <= _handedOver)
                return;
            _ahead[sequenceNr] = delivery;
            HandOverInOrder();
            // A gap: a message stored before we subscribed but after the replay read. Read it from the log.
            if (_ahead.Count > 0 && !_replaying)
                StartReplay();
        });
        Receive<ReplayCompleted>(_ =>
        {
            _replaying = false;
            HandOverInOrder();
            if (_ahead.Count > 0)
                Timers.StartSingleTimer("gap", RetryGap.Instance, GapRetryDelay);
        });
        Receive<RetryGap>(_ =>
        {
            if (_ahead.Count > 0 && !_replaying)
                StartReplay();
        });
        Receive<ChannelRejected>(rejected => throw new InvalidOperationException($"consumer {_consumer} replay failed: {rejected.Reason}"));
        Receive<Processed>(processed =>
        {
            _processed = Math.Max(_processed, processed.SequenceNr);
            _sinceCommit++;
            if (_policy is CommitPolicy.EveryMessage || (_policy is CommitPolicy.Batch batch && _sinceCommit >= batch.Size))
                Commit(ActorRefs.Nobody);
        });
        Receive<FlushOffsets>(_ => Commit(Sender));
        Receive<OffsetCommitted>(committed => Committed(committed.Offset));
        Receive<OffsetRejected>(rejected => Committed(rejected.Stored));
        Receive<OffsetRequestRejected>(_ => { });
    }

    private void StartReplay()
    {
        _replaying = true;
        _channels.Tell(new Replay(_channel, _partition, _handedOver + 1, Self));
    }

    /// <summary>Hands messages over once each and in sequence order: replay and live may both carry one.</summary>
    private void HandOverInOrder()
    {
        while (_ahead.Remove(_handedOver + 1, out var next))
        {
            _handedOver++;
            _target.Tell(next, Self);
        }
        foreach (var stale in _ahead.Keys.TakeWhile(k => k <= _handedOver).ToList())
            _ahead.Remove(stale);
    }

    private void Commit(IActorRef flushRequester)
    {
        _sinceCommit = 0;
        if (!flushRequester.IsNobody())
            _awaitingFlush.Add((flushRequester, _processed));
        if (_processed > _committed)
            _offsets.Tell(new CommitOffset(_consumer, Stream, _processed));
        else
            Committed(_committed);
    }

    /// <summary>An offset is durable: a flush is answered once everything processed before it is committed.</summary>
    private void Committed(long offset)
    {
        _committed = Math.Max(_committed, offset);
        foreach (var flush in _awaitingFlush.Where(f => f.Offset <= _committed).ToList())
        {
            flush.Requester.Tell(new OffsetsFlushed(_committed == 0 ? null : _committed));
            _awaitingFlush.Remove(flush);
        }
    }

    private sealed class RetryGap : INoSerializationVerificationNeeded
    {
        public static readonly RetryGap Instance = new();
    }
}
