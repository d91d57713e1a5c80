using Akka.Actor;
using Akka.Event;
using Akka.Persistence;
using Akka.Persistence.Query;
using Akka.Streams;
using Akka.Streams.Dsl;
using Liminal.Actors.Channels;
using Liminal.Actors.Persistence;

namespace Liminal.Actors.Consumers;

/// <summary>What every consumer partition runs with.</summary>
public sealed record ConsumerSettings(long SnapshotEvery, TimeProvider Clock)
{
    /// <summary>Messages read from the log at once, at most (beyond <c>MaxAckPending</c>, what is held in memory).</summary>
    public int PageSize { get; init; } = 500;

    /// <summary>How soon a failed log read or dead-letter publish is tried again.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);
}

/// <summary>
/// One durable consumer in one partition of a durable channel (SPEC §2.6): reads the partition's log — from the
/// journal up to what the partition had stored when it started watching, then live from the partition, which tells it
/// every message it stores afterwards — and hands each message to one member of the consumer's group at a time, at most
/// <c>MaxAckPending</c> out, again after <c>AckWait</c> or a <c>Nak</c>, to the dead-letter channel after
/// <c>MaxDeliver</c> attempts or a <c>Term</c>. It stores its start, its acks and the attempts after the first, so a
/// restart resumes at the ack floor and sends again exactly what is not done.
/// </summary>
/// <remarks>
/// Nothing stored is skipped: the partition answers <see cref="WatchPartition"/> with its last message already handed
/// to its subscribers, and tells the consumer every later one; anything the consumer does not take live (it was reading,
/// or full) it reads from the log. A gap is only ever read, never assumed.
/// </remarks>
public sealed class ConsumerPartition : PersistentEntity<IConsumerEvent>, IWithTimers
{
    private readonly string _channel;
    private readonly string _consumer;
    private readonly int _partition;
    private readonly ConsumerSettings _settings;
    private readonly IActorRef _router;
    private readonly IActorRef _registry;
    private readonly bool _ofDeadLetterChannel;
    private readonly Metrics.LiminalMetrics _metrics = Metrics.LiminalMetrics.For(Context.System);
    private readonly Metrics.LiminalMetrics.Gauge _lagGauge;
    private readonly Metrics.LiminalMetrics.Gauge _pendingGauge;

    private ConsumerStarted? _started;
    private ConsumerLedger? _ledger;
    private ConsumerFilter? _filter;
    private long _deadLettered;
    private long _skipped;
    // Deliveries after the first, as stored (each is a MessageAttempted): the count survives a restart.
    private long _redelivered;

    // For one run: the bodies of the messages waiting or out, the log position read up to, members, dead letters under way.
    private readonly Dictionary<long, MessageEnvelope> _bodies = [];
    private long _cursor;
    private long _lastStored = -1;
    // Info asked before the channel partition has told its last stored message (e.g. right after a restart) waits for
    // it: answered earlier it would report the ack floor as the last stored message, a lag of 0 with messages owed.
    private readonly List<IActorRef> _infoWaiting = [];
    private bool _reading;
    private IActorRef? _channelPartition;
    private IActorRef[] _members = [];
    private readonly Dictionary<string, IActorRef> _memberByKey = new(StringComparer.Ordinal);
    private int _nextMember;
    private readonly Dictionary<long, (string Reason, IActorRef? ReplyTo)> _deadLettering = [];
    private readonly List<long> _filteredOut = [];
    private IActorRef? _deleteRequester;
    private bool _pumpDue;
    private bool _messagesDeleted;
    private bool _snapshotsDeleted;

    public ConsumerPartition(string channel, string consumer, int partition, ConsumerSettings settings, IActorRef router, IActorRef registry)
    {
        _channel = channel;
        _consumer = consumer;
        _partition = partition;
        _settings = settings;
        _router = router;
        _registry = registry;
        _ofDeadLetterChannel = DeadLetters.IsDeadLetterChannel(channel);
        PersistenceId = PersistenceIdOf(channel, consumer, partition);
        (_lagGauge, _pendingGauge) = _metrics.ConsumerGauges(channel, consumer, partition);
    }

    protected override bool AroundReceive(Receive receive, object message)
    {
        var handled = base.AroundReceive(receive, message);
        if (_ledger is not null)
        {
            _lagGauge.Value = Math.Max(0, Math.Max(_lastStored, _ledger.HighestRead) - _ledger.AckFloor);
            _pendingGauge.Value = _ledger.Pending;
        }
        return handled;
    }

    protected override void PostStop()
    {
        _lagGauge.Dispose();
        _pendingGauge.Dispose();
        base.PostStop();
    }

    public static Props Props(string channel, string consumer, int partition, ConsumerSettings settings, IActorRef router, IActorRef registry) =>
        Akka.Actor.Props.Create(() => new ConsumerPartition(channel, consumer, partition, settings, router, registry));

    /// <summary><c>consumer-{channel}-{consumer}-{partition}</c>, each name escaped so that no two consumers share an id.</summary>
    public static string PersistenceIdOf(string channel, string consumer, int partition) =>
        $"consumer-{Escape(channel)}-{Escape(consumer)}-{partition.ToString(System.Globalization.CultureInfo.InvariantCulture)}";

    // '%' first, so that an escaped '-' cannot be confused with a name that spells "%2D".
    private static string Escape(string name) => name.Replace("%", "%25", StringComparison.Ordinal).Replace("-", "%2D", StringComparison.Ordinal);

    public override string PersistenceId { get; }

    public ITimerScheduler Timers { get; set; } = null!;

    protected override long SnapshotEvery => _settings.SnapshotEvery;

    protected override long SnapshotCost => (_ledger?.DoneAboveFloorCount ?? 0) / 4;

    // Packed: the acks of one moment are one journal row (group commit).
    protected override bool PackWrites => true;

    private long Now => _settings.Clock.GetUtcNow().ToUnixTimeMilliseconds();

    protected override void RestoreSnapshot(object snapshot)
    {
        var restored = (ConsumerPartitionSnapshot)snapshot;
        if (restored.Started is { } started)
            Begin(started);
        _ledger?.Restore(restored.Ledger);
        _deadLettered = restored.DeadLettered;
        _skipped = restored.Skipped;
        _redelivered = restored.Redelivered;
    }

    protected override object Snapshot() =>
        new ConsumerPartitionSnapshot(_started, _ledger?.ToState() ?? new ConsumerLedgerState(0, [], [], [], [], []), _deadLettered, _skipped, _redelivered);

    protected override void Apply(IConsumerEvent @event)
    {
        switch (@event)
        {
            case ConsumerStarted started:
                Begin(started);
                _ledger!.Start(started.StartAfter);
                break;
            case MessagesAcked acked when _ledger is not null:
                foreach (var sequenceNr in acked.SequenceNrs)
                {
                    _ledger.Done(sequenceNr);
                    _bodies.Remove(sequenceNr);
                }
                break;
            case MessageAttempted attempted:
                _ledger?.Attempted(attempted.SequenceNr, attempted.Attempt);
                _redelivered++;
                break;
            case MessageDeadLettered deadLettered when _ledger is not null:
                _ledger.Done(deadLettered.SequenceNr);
                _bodies.Remove(deadLettered.SequenceNr);
                _deadLettered++;
                break;
            case ConsumerMessagesSkipped skipped when _ledger is not null:
                _ledger.DoneRun(skipped.FirstSequenceNr, skipped.LastSequenceNr);
                _skipped += skipped.LastSequenceNr - skipped.FirstSequenceNr + 1;
                break;
        }
        _cursor = Math.Max(_cursor, _ledger?.AckFloor ?? 0);
    }

    private void Begin(ConsumerStarted started)
    {
        _started = started;
        _ledger = new ConsumerLedger(started.Limits);
        _filter = ConsumerFilter.TryParse(started.Filter, out var filter, out _) ? filter : null;
    }

    protected override void OnRecovered()
    {
        _cursor = _ledger?.AckFloor ?? 0;
        Watch();
        Context.Parent.Tell(MembersWanted.Instance);
        var tick = _started is null ? TimeSpan.FromSeconds(1) : TickFor(_started.Limits.AckWait);
        Timers.StartPeriodicTimer("tick", Tick.Instance, tick);
    }

    // Expiries and delayed redeliveries are checked against the bus clock on a tick, not timed to the instant: a test's
    // clock moves by steps, and the tick is cheap.
    private static TimeSpan TickFor(TimeSpan ackWait) =>
        TimeSpan.FromMilliseconds(Math.Clamp(ackWait.TotalMilliseconds / 4, 10, 1000));

    // Asked again until answered: a partition that is restarting with a full buffer drops what it cannot take.
    private void Watch()
    {
        _router.Tell(new ToPartition(_partition, new WatchPartition(Self)));
        Timers.StartSingleTimer("watch", WatchAgain.Instance, WatchRetry);
    }

    private static readonly TimeSpan WatchRetry = TimeSpan.FromSeconds(5);

    protected override Conflict ConflictOf(object command) => command switch
    {
        IConsumerSettlement settlement => Conflict.On(Key(settlement.SequenceNr)),
        GetPartitionInfo => Conflict.None,
        _ => Conflict.Everything,
    };

    private static string Key(long sequenceNr) => sequenceNr.ToString(System.Globalization.CultureInfo.InvariantCulture);

    protected override void Decide(object command, IActorRef sender)
    {
        switch (command)
        {
            case StartConsumer start:
                OnStart(start, sender);
                break;
            // Sent to a delivery's sender, a request naming another consumer or partition would otherwise settle this
            // partition's message of that number.
            case IConsumerSettlement settlement when Misaddressed(settlement) is { } wrong:
                Reply(sender, AckRejected.For(settlement, wrong));
                break;
            case Ack ack:
                OnAck(ack, sender);
                break;
            case Nak nak:
                OnNak(nak, sender);
                break;
            case Term term:
                OnTerm(term, sender);
                break;
            case GetPartitionInfo when _lastStored < 0 && _ledger is not null:
                _infoWaiting.Add(sender);
                break;
            case GetPartitionInfo:
                Reply(sender, new PartitionInfoResult(_partition, Info()));
                break;
            case DeleteConsumerState:
                OnDelete(sender);
                break;
            default:
                Unhandled(command);
                break;
        }
    }

    private string? Misaddressed(IConsumerSettlement settlement) =>
        settlement.Channel == _channel && settlement.Consumer == _consumer && settlement.Partition == _partition
            ? null
            : $"sent to consumer '{_consumer}' of channel '{_channel}' partition {_partition}, which it does not name; send it to the bus";

    private void OnStart(StartConsumer start, IActorRef sender)
    {
        if (_started is { } started)
        {
            Reply(sender, new ConsumerStartResult(_partition, started.SameOptions(start.Options)
                ? null
                : $"consumer '{_consumer}' exists with other options ({Describe(started)}); delete it to change them"));
            return;
        }
        Persist([ConsumerStarted.Of(start.Options, start.StartAfter)], start, sender, _ =>
        {
            Pump();
            return new ConsumerStartResult(_partition, null);
        });
    }

    private static string Describe(ConsumerStarted started) =>
        $"MaxAckPending {started.MaxAckPending}, AckWait {TimeSpan.FromMilliseconds(started.AckWaitMillis)}, MaxDeliver {started.MaxDeliver}, " +
        $"DeliverFrom {started.DeliverFrom}, Filter {started.Filter ?? "none"}, DeadLetterChannel {started.DeadLetterChannel ?? "default"}";

    private void OnAck(Ack ack, IActorRef sender)
    {
        if (_ledger is null)
        {
            Reply(sender, Rejected(ack.SequenceNr, NotSettleable));
            return;
        }
        var sequenceNr = ack.SequenceNr;
        if (_ledger.IsDone(sequenceNr))
        {
            // Behind any write in flight: a repeated ack is answered once the first is durable.
            Reply(sender, new Acked(_channel, _consumer, _partition, sequenceNr));
            return;
        }
        // A message read but not out now was delivered by an earlier run of this consumer (it restarted since): its
        // ack still counts. One never read was never delivered.
        if (sequenceNr > _ledger.HighestRead || _deadLettering.ContainsKey(sequenceNr) || !(_ledger.IsPending(sequenceNr) || _ledger.IsWaiting(sequenceNr)))
        {
            Reply(sender, Rejected(sequenceNr, NotSettleable));
            return;
        }
        Persist([new MessagesAcked([sequenceNr])], ack, sender, _ =>
        {
            _metrics.ConsumerAcked(_channel, _consumer);
            Pump();
            return new Acked(_channel, _consumer, _partition, sequenceNr);
        });
    }

    private void OnNak(Nak nak, IActorRef sender)
    {
        if (_ledger is null || !_ledger.IsPending(nak.SequenceNr) || _deadLettering.ContainsKey(nak.SequenceNr))
        {
            Reply(sender, Rejected(nak.SequenceNr, NotSettleable));
            return;
        }
        var delay = nak.Delay is { } d && d > TimeSpan.Zero ? (long)d.TotalMilliseconds : 0;
        _ledger.Nak(nak.SequenceNr, Now + delay, out var exhausted);
        if (exhausted)
            DeadLetter(nak.SequenceNr, $"nak after {_ledger.AttemptsOf(nak.SequenceNr)} deliveries (max-deliver {_started!.MaxDeliver})", null);
        Reply(sender, new Redelivering(_channel, _consumer, _partition, nak.SequenceNr));
        Pump();
    }

    private void OnTerm(Term term, IActorRef sender)
    {
        if (_ledger is null || _deadLettering.ContainsKey(term.SequenceNr) || !_ledger.Withdraw(term.SequenceNr))
        {
            Reply(sender, Rejected(term.SequenceNr, NotSettleable));
            return;
        }
        DeadLetter(term.SequenceNr, string.IsNullOrEmpty(term.Reason) ? "terminated by the consumer" : term.Reason, sender);
        Pump();
    }

    private AckRejected Rejected(long sequenceNr, string reason) => new(_channel, _consumer, _partition, sequenceNr, reason);

    // Why an ack, nak or term of a message is refused once its own checks failed.
    private string NotSettleable => _ledger is null
        ? $"no consumer named '{_consumer}' on channel '{_channel}'"
        : "the message is not pending for this consumer";

    private PartitionConsumerInfo? Info() => _ledger is null
        ? null
        : new PartitionConsumerInfo(_partition, _ledger.AckFloor, Math.Max(_lastStored, _ledger.HighestRead), _ledger.Pending, _redelivered, _deadLettered);

    private void AnswerInfoWaiting()
    {
        foreach (var waiting in _infoWaiting)
            Reply(waiting, new PartitionInfoResult(_partition, Info()));
        _infoWaiting.Clear();
    }

    private void OnDelete(IActorRef sender)
    {
        _deleteRequester = sender;
        _started = null;
        _ledger = null;
        _bodies.Clear();
        Timers.CancelAll();
        AnswerInfoWaiting();
        if (_channelPartition is not null)
            Context.Unwatch(_channelPartition);
        DeleteMessages(LastSequenceNr);
        DeleteSnapshots(new SnapshotSelectionCriteria(long.MaxValue));
    }

    protected override bool OnOtherMessage(object message)
    {
        switch (message)
        {
            case PartitionWatched watched:
                _channelPartition = Sender;
                Context.Watch(Sender);
                _lastStored = Math.Max(_lastStored, watched.LastSequenceNr);
                AnswerInfoWaiting();
                Pump();
                return true;
            case Terminated terminated when terminated.ActorRef.Equals(_channelPartition):
                // The partition restarts (its journal failed); its next incarnation takes the watch again.
                _channelPartition = null;
                if (_deleteRequester is null)
                    Watch();
                return true;
            case Delivery delivery:
                OnLive(delivery);
                return true;
            case LogPage page:
                OnPage(page);
                return true;
            case LogReadFailed failed:
                Log.Warning(failed.Cause, "Consumer {0} of {1} partition {2} could not read the log; retrying", _consumer, _channel, _partition);
                Timers.StartSingleTimer("read-retry", ReadRetry.Instance, _settings.RetryDelay);
                return true;
            case PumpNow:
                PumpNowAndThen();
                return true;
            case WatchAgain:
                if (_channelPartition is null && _deleteRequester is null)
                    Watch();
                return true;
            case ReadRetry:
                _reading = false;
                Pump();
                return true;
            case MembersChanged changed:
                OnMembers(changed.Members);
                return true;
            case Tick:
                if (_ledger is not null)
                {
                    foreach (var sequenceNr in _ledger.Expire(Now))
                        DeadLetter(sequenceNr, $"not acked within {TimeSpan.FromMilliseconds(_started!.AckWaitMillis)} after {_started.MaxDeliver} deliveries", null);
                }
                Pump();
                return true;
            case DeadLetterOutcome outcome:
                OnDeadLetterOutcome(outcome);
                return true;
            case RetryDeadLetter retry when _deadLettering.ContainsKey(retry.SequenceNr):
                PublishDeadLetter(retry.SequenceNr);
                return true;
            case DeleteMessagesSuccess:
                _messagesDeleted = true;
                FinishDelete();
                return true;
            case DeleteSnapshotsSuccess { Criteria.MaxSequenceNr: long.MaxValue }:
                _snapshotsDeleted = true;
                FinishDelete();
                return true;
            case DeleteMessagesFailure failure when _deleteRequester is not null:
                _deleteRequester.Tell(new ConsumerStateDeleted(_partition, failure.Cause.Message));
                return true;
            case DeleteSnapshotsFailure { Criteria.MaxSequenceNr: long.MaxValue } failure when _deleteRequester is not null:
                _deleteRequester.Tell(new ConsumerStateDeleted(_partition, failure.Cause.Message));
                return true;
            default:
                return message is DeleteSnapshotsSuccess or DeleteSnapshotsFailure or DeleteMessagesFailure;
        }
    }

    // Inert from here: its group stops once every partition has answered, and this actor with it.
    private void FinishDelete()
    {
        if (!_messagesDeleted || !_snapshotsDeleted || _deleteRequester is null)
            return;
        _deleteRequester.Tell(new ConsumerStateDeleted(_partition, null));
    }

    private void OnLive(Delivery delivery)
    {
        if (delivery.SequenceNr is not { } sequenceNr)
            return;
        _lastStored = Math.Max(_lastStored, sequenceNr);
        // Taken live only in order and with room; anything else is read from the log.
        if (_ledger is not null && !_reading && sequenceNr == _cursor + 1 && _ledger.WantsMore)
            Take(sequenceNr, delivery.Envelope);
        Pump();
    }

    private void OnMembers(IActorRef[] members)
    {
        var now = Now;
        var keep = members.Select(KeyOf).ToHashSet(StringComparer.Ordinal);
        foreach (var (key, _) in _memberByKey.Where(m => !keep.Contains(m.Key)).ToList())
        {
            _memberByKey.Remove(key);
            if (_ledger is null)
                continue;
            foreach (var exhausted in _ledger.MemberStopped(key, now))
                DeadLetter(exhausted, $"its member stopped after {_started!.MaxDeliver} deliveries", null);
        }
        foreach (var member in members)
            _memberByKey[KeyOf(member)] = member;
        _members = members;
        Pump();
    }

    private static string KeyOf(IActorRef member) => member.Path.ToStringWithUid();

    /// <summary>
    /// Pumps once the messages in the mailbox now are handled: a burst of live messages or acks costs one pass over
    /// the ledger, not one each.
    /// </summary>
    private void Pump()
    {
        if (_pumpDue)
            return;
        _pumpDue = true;
        Self.Tell(PumpNow.Instance);
    }

    /// <summary>Reads on, dead-letters what is out of attempts, sends what may go now.</summary>
    private void PumpNowAndThen()
    {
        _pumpDue = false;
        if (_ledger is null)
            return;
        foreach (var exhausted in _ledger.TakeExhausted())
            DeadLetter(exhausted, $"not acked after {_started!.MaxDeliver} deliveries (before a restart)", null);
        ReadMore();
        foreach (var dispatch in _ledger.Dispatch(Now, ChooseMember))
            Send(dispatch);
        FlushFilteredOut();
    }

    private string? ChooseMember()
    {
        if (_members.Length == 0)
            return null;
        _nextMember = (_nextMember + 1) % _members.Length;
        return KeyOf(_members[_nextMember]);
    }

    private void Send(Dispatch dispatch)
    {
        var member = _memberByKey[dispatch.Member];
        var delivery = new Delivery(_channel, _partition, dispatch.SequenceNr, _bodies[dispatch.SequenceNr]) { Consumer = _consumer, Attempt = dispatch.Attempt };
        if (dispatch.Attempt == 1)
        {
            TryTell(member, delivery);
            return;
        }
        // Counted before it goes, from the second attempt on: a first delivery is not stored (one write per message would
        // halve what a consumer can take), so after a crash a message whose first delivery was never acked comes again
        // as attempt 1, and it may get MaxDeliver + 1 deliveries in all.
        _metrics.ConsumerRedelivered(_channel, _consumer);
        Persist([new MessageAttempted(dispatch.SequenceNr, dispatch.Attempt)], InternalWrite.Instance, ActorRefs.Nobody, _ =>
        {
            TryTell(member, delivery);
            return InternalWrite.Instance;
        });
    }

    private void ReadMore()
    {
        if (_reading || _lastStored < 0 || _cursor >= _lastStored || !_ledger!.WantsMore)
            return;
        _reading = true;
        var from = _cursor + 1;
        var to = Math.Min(_lastStored, _cursor + _settings.PageSize);
        var self = Self;
        ChannelPartition.ReadLog(Context.System, _channel, _partition, from, to)
            .RunWith(Sink.Seq<EventEnvelope>(), Context.System.Materializer())
            .PipeTo(self, success: events => new LogPage(from, to, events), failure: error => new LogReadFailed(error));
    }

    private void OnPage(LogPage page)
    {
        _reading = false;
        if (_ledger is null)
            return;
        foreach (var envelope in page.Events)
        {
            if (envelope.SequenceNr <= _cursor || envelope.SequenceNr > page.To)
                continue;
            if (envelope.SequenceNr > _cursor + 1)
                Skip(_cursor + 1, envelope.SequenceNr - 1);
            Take(envelope.SequenceNr, ((MessageAppended)envelope.Event).ToEnvelope());
        }
        // Everything up to page.To was stored before it was read: what is missing was deleted (retention, purge).
        if (_cursor < page.To)
            Skip(_cursor + 1, page.To);
        Pump();
    }

    private void Take(long sequenceNr, MessageEnvelope envelope)
    {
        _cursor = sequenceNr;
        if (_ledger!.IsDone(sequenceNr))
            return;
        if (_filter is not null && !_filter.Matches(envelope.Payload))
        {
            _filteredOut.Add(sequenceNr);
            return;
        }
        _ledger.Offer(sequenceNr);
        _bodies[sequenceNr] = envelope;
    }

    /// <summary>Messages deleted from the log before this consumer was done with them: done, and the members are told.</summary>
    private void Skip(long first, long last)
    {
        _cursor = last;
        var count = last - first + 1;
        Log.Warning("Consumer {0} of {1} partition {2}: messages {3} to {4} were deleted (retention or purge) before it was done with them",
            _consumer, _channel, _partition, first, last);
        var skipped = new MessagesSkipped(_channel, _consumer, _partition, first, last, count);
        foreach (var member in _members)
            TryTell(member, skipped);
        Persist([new ConsumerMessagesSkipped(first, last)], InternalWrite.Instance, ActorRefs.Nobody, _ => InternalWrite.Instance);
    }

    private void FlushFilteredOut()
    {
        if (_filteredOut.Count == 0)
            return;
        var sequenceNrs = _filteredOut.ToArray();
        _filteredOut.Clear();
        Persist([new MessagesAcked(sequenceNrs)], InternalWrite.Instance, ActorRefs.Nobody, _ =>
        {
            Pump();
            return InternalWrite.Instance;
        });
    }

    /// <summary>
    /// Sends the message to the dead-letter channel (a consumer of a dead-letter channel parks it instead) and stores
    /// that it is done; <paramref name="replyTo"/> (a <c>Term</c>'s sender) is told once it is.
    /// </summary>
    private void DeadLetter(long sequenceNr, string reason, IActorRef? replyTo)
    {
        if (!_deadLettering.TryAdd(sequenceNr, (reason, replyTo)))
            return;
        if (_ofDeadLetterChannel)
        {
            StoreDeadLettered(sequenceNr, parked: true);
            return;
        }
        PublishDeadLetter(sequenceNr);
    }

    private void PublishDeadLetter(long sequenceNr)
    {
        var (reason, _) = _deadLettering[sequenceNr];
        var original = _bodies[sequenceNr];
        var payload = DeadLetters.Payload(_channel, _partition, sequenceNr, _consumer, _ledger!.AttemptsOf(sequenceNr), reason, original);
        var publish = new Publish(_started!.DeadLetterChannel ?? DeadLetters.ChannelFor(_channel),
            new MessageEnvelope(payload, DeadLetters.PublisherId, original.Causal, original.Headers),
            DeadLetters.KeyOf(_channel, _consumer, _partition, sequenceNr));
        var self = Self;
        _registry.Ask<object>(publish, TimeSpan.FromSeconds(30))
            .PipeTo(self, success: reply => new DeadLetterOutcome(sequenceNr, reply), failure: error => new DeadLetterOutcome(sequenceNr, error.Message));
    }

    private void OnDeadLetterOutcome(DeadLetterOutcome outcome)
    {
        if (!_deadLettering.ContainsKey(outcome.SequenceNr) || _ledger is null)
            return;
        if (outcome.Reply is PublishAck)
        {
            StoreDeadLettered(outcome.SequenceNr, parked: false);
            return;
        }
        // A dead letter its channel can never take (too large, or refused by a schema) is parked, not retried forever.
        if (outcome.Reply is PublishRejected { Reason: PublishFailure.PayloadTooLarge or PublishFailure.SchemaMismatch or PublishFailure.UnknownChannel } refused)
        {
            Log.Error("Consumer {0} of {1} partition {2}: the dead-letter channel refuses the dead letter of message {3} ({4}: {5}); it is parked",
                _consumer, _channel, _partition, outcome.SequenceNr, refused.Reason, refused.Detail);
            StoreDeadLettered(outcome.SequenceNr, parked: true);
            return;
        }
        Log.Warning("Consumer {0} of {1} partition {2}: the dead letter of message {3} was not stored ({4}); retrying",
            _consumer, _channel, _partition, outcome.SequenceNr, outcome.Reply);
        Timers.StartSingleTimer($"dead-letter-{outcome.SequenceNr}", new RetryDeadLetter(outcome.SequenceNr), _settings.RetryDelay);
    }

    private void StoreDeadLettered(long sequenceNr, bool parked)
    {
        Persist([new MessageDeadLettered(sequenceNr, parked)], InternalWrite.Instance, ActorRefs.Nobody, _ =>
        {
            if (_deadLettering.Remove(sequenceNr, out var pending) && pending.ReplyTo is { } replyTo)
                TryTell(replyTo, new DeadLettered(_channel, _consumer, _partition, sequenceNr));
            _metrics.ConsumerDeadLettered(_channel, _consumer);
            Pump();
            return InternalWrite.Instance;
        });
    }

    protected override object FailureFor(object command, string detail) => command switch
    {
        IConsumerSettlement settlement => Rejected(settlement.SequenceNr, detail),
        StartConsumer => new ConsumerStartResult(_partition, detail),
        GetPartitionInfo => new PartitionInfoResult(_partition, null),
        DeleteConsumerState => new ConsumerStateDeleted(_partition, detail),
        _ => InternalWrite.Instance,
    };

    private sealed record LogPage(long From, long To, IReadOnlyList<EventEnvelope> Events);

    private sealed record LogReadFailed(Exception Cause);

    private sealed record DeadLetterOutcome(long SequenceNr, object Reply);

    private sealed record RetryDeadLetter(long SequenceNr);

    private sealed class PumpNow
    {
        public static readonly PumpNow Instance = new();
    }

    private sealed class WatchAgain
    {
        public static readonly WatchAgain Instance = new();
    }

    private sealed class ReadRetry
    {
        public static readonly ReadRetry Instance = new();
    }

    private sealed class Tick
    {
        public static readonly Tick Instance = new();
    }

    /// <summary>The command of a write the consumer makes by itself; its reply goes nowhere.</summary>
    private sealed class InternalWrite
    {
        public static readonly InternalWrite Instance = new();
    }
}
