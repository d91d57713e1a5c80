using Akka.Actor;
using Liminal.Actors.Channels;
using Liminal.Actors.Entities;

namespace Liminal.Actors.Consumers;

/// <summary>
/// One durable consumer of a channel: its members (the subscribers under its name, a consumer group; DeathWatch
/// removes those that stop) and one <see cref="ConsumerPartition"/> per partition of the channel, restarted with backoff
/// when its journal fails. Subscribes, acks, info and deletion are routed here by the channel's router.
/// </summary>
internal sealed class ConsumerGroup : EntityParent
{
    private readonly string _channel;
    private readonly string _consumer;
    private readonly int _partitions;
    private readonly ConsumerSettings _settings;
    private readonly IActorRef _router;
    private readonly IActorRef _registry;
    private readonly List<IActorRef> _members = [];
    // Subscribes with DeliverFrom.New wait for every partition's last stored sequence number.
    private readonly List<(SubscribeDurable Subscribe, IActorRef ReplyTo)> _awaitingLast = [];
    private long?[] _lastStored = [];
    private int _subscribesInFlight;
    private bool _deleting;
    private readonly Extractor _extractor;

    public ConsumerGroup(string channel, string consumer, int partitions, ConsumerSettings settings, EntityParentSettings parentSettings,
        IActorRef router, IActorRef registry)
        : this(new Extractor(partitions), channel, consumer, partitions, settings, parentSettings, router, registry)
    {
    }

    private ConsumerGroup(Extractor extractor, string channel, string consumer, int partitions, ConsumerSettings settings,
        EntityParentSettings parentSettings, IActorRef router, IActorRef registry)
        : base(extractor, parentSettings, settings.Clock)
    {
        _extractor = extractor;
        _channel = channel;
        _consumer = consumer;
        _partitions = partitions;
        _settings = settings;
        _router = router;
        _registry = registry;
    }

    public static Props Props(string channel, string consumer, int partitions, ConsumerSettings settings, EntityParentSettings parentSettings,
        IActorRef router, IActorRef registry) =>
        Akka.Actor.Props.Create(() => new ConsumerGroup(channel, consumer, partitions, settings, parentSettings, router, registry));

    /// <summary>How long a group without members stays up after its last request (its state is stored; the next request brings it back).</summary>
    public static readonly TimeSpan IdleWithoutMembers = TimeSpan.FromMinutes(1);

    protected override void PreStart()
    {
        base.PreStart();
        // At once, not on the first ack: a consumer's partitions read on and deliver as soon as a member joins.
        StartEntities(Enumerable.Range(0, _partitions).Select(Id));
        Context.SetReceiveTimeout(IdleWithoutMembers);
    }

    protected override Props EntityProps(string entityId) =>
        ConsumerPartition.Props(_channel, _consumer, int.Parse(entityId, System.Globalization.CultureInfo.InvariantCulture), _settings, _router, _registry);

    protected override object? Overloaded(object message) => message switch
    {
        IConsumerSettlement settlement => new AckRejected(_channel, _consumer, settlement.Partition, settlement.SequenceNr, "the consumer is restarting; retry"),
        StartConsumer => new ConsumerStartResult(-1, "the consumer is restarting; retry"),
        GetPartitionInfo => new PartitionInfoResult(-1, null),
        DeleteConsumerState => new ConsumerStateDeleted(-1, "the consumer is restarting; retry"),
        _ => null,
    };

    protected override object? Refusal(object message) => message switch
    {
        SubscribeDurable or GetConsumerInfo or DeleteConsumer => new ChannelRejected(_channel, "the consumer failed while handling this request (logged); retry"),
        _ => Overloaded(message),
    };

    protected override void OnNonEntityMessage(object message)
    {
        switch (message)
        {
            case SubscribeDurable or Ack or Nak or Term or GetConsumerInfo or DeleteConsumer when _extractor.Retiring:
                // Reached this group after it asked to stop: back to the router, which holds it for the next group.
                _router.Forward(message);
                break;
            case ConsumerGroupRetired:
                Context.Stop(Self);
                break;
            case SubscribeDurable when _deleting:
                Sender.Tell(new ChannelRejected(_channel, $"consumer '{_consumer}' is being deleted; retry"));
                break;
            case SubscribeDurable subscribe:
                OnSubscribe(subscribe, Sender);
                break;
            case LastSequenceNr last when last.Partition >= 0 && last.Partition < _lastStored.Length:
                _lastStored[last.Partition] = last.SequenceNr;
                if (_lastStored.All(s => s is not null))
                {
                    var startAfter = _lastStored.Select(s => s!.Value).ToArray();
                    foreach (var (subscribe, replyTo) in _awaitingLast)
                        Start(subscribe, replyTo, startAfter);
                    _awaitingLast.Clear();
                }
                break;
            case SubscribeOutcome outcome:
                _subscribesInFlight--;
                if (outcome.Problem is { } problem)
                {
                    outcome.ReplyTo.Tell(new ChannelRejected(_channel, problem));
                    break;
                }
                if (!_members.Contains(outcome.Member))
                {
                    _members.Add(outcome.Member);
                    Context.Watch(outcome.Member);
                    TellMembers();
                }
                outcome.ReplyTo.Tell(new ConsumerSubscribed(_channel, _consumer));
                break;
            case MembersWanted:
                Sender.Tell(new MembersChanged([.. _members]));
                break;
            case Terminated terminated when _members.Remove(terminated.ActorRef):
                TellMembers();
                break;
            case GetConsumerInfo:
                var infoAggregator = Context.ActorOf(Akka.Actor.Props.Create(() => new InfoAggregator(_channel, _consumer, _partitions, _members.Count, Sender, Self)));
                ForEachPartition(GetPartitionInfo.Instance, infoAggregator);
                break;
            case DeleteConsumer:
                _deleting = true;
                var deleteAggregator = Context.ActorOf(Akka.Actor.Props.Create(() => new DeleteAggregator(_channel, _consumer, _partitions, Sender)));
                ForEachPartition(DeleteConsumerState.Instance, deleteAggregator);
                break;
            case ConsumerGone gone:
                // Its state is deleted: the members get nothing more and the router starts afresh on the next subscribe.
                // The requester is answered by the router once it routes nothing more here, so a subscribe sent on
                // that answer reaches the next group.
                Retire(gone.Reply, gone.ReplyTo);
                break;
            case ConsumerUnknown when Idle:
                // Asked about a consumer that does not exist: nothing to keep running for it.
                Retire(null, null);
                break;
            case ConsumerUnknown:
                break;
            case ReceiveTimeout when Idle:
                Retire(null, null);
                break;
            case ReceiveTimeout:
                break;
            case IConsumerSettlement settlement:
                Sender.Tell(new AckRejected(_channel, _consumer, settlement.Partition, settlement.SequenceNr, $"channel '{_channel}' has partitions 0 to {_partitions - 1}"));
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    private bool Idle => _members.Count == 0 && _subscribesInFlight == 0 && _awaitingLast.Count == 0 && !_deleting;

    private void Retire(object? reply, IActorRef? replyTo)
    {
        if (_extractor.Retiring)
            return;
        _extractor.Retiring = true;
        Context.SetReceiveTimeout(null);
        _router.Tell(new RetireConsumerGroup(reply, replyTo));
    }

    private void OnSubscribe(SubscribeDurable subscribe, IActorRef replyTo)
    {
        _subscribesInFlight++;
        switch (subscribe.Options.DeliverFrom)
        {
            case DeliverFrom.New:
                if (_awaitingLast.Count == 0)
                {
                    _lastStored = new long?[_partitions];
                    for (var partition = 0; partition < _partitions; partition++)
                        _router.Tell(new ToPartition(partition, GetLastSequenceNr.Instance), Self);
                }
                _awaitingLast.Add((subscribe, replyTo));
                break;
            case DeliverFrom.Sequence sequence:
                Start(subscribe, replyTo, [.. Enumerable.Repeat(sequence.SequenceNr - 1, _partitions)]);
                break;
            default:
                Start(subscribe, replyTo, new long[_partitions]);
                break;
        }
    }

    private void Start(SubscribeDurable subscribe, IActorRef replyTo, long[] startAfter)
    {
        var aggregator = Context.ActorOf(Akka.Actor.Props.Create(() => new StartAggregator(_partitions, subscribe.Subscriber, replyTo, Self)));
        for (var partition = 0; partition < _partitions; partition++)
            Deliver(Id(partition), new StartConsumer(subscribe.Options, startAfter[partition]), aggregator);
    }

    private void TellMembers()
    {
        Context.SetReceiveTimeout(_members.Count == 0 ? IdleWithoutMembers : null);
        ForEachPartition(new MembersChanged([.. _members]), Self);
    }

    private void ForEachPartition(object message, IActorRef sender)
    {
        for (var partition = 0; partition < _partitions; partition++)
            Deliver(Id(partition), message, sender);
    }

    private static string Id(int partition) => partition.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private sealed class Extractor(int partitions) : IEntityMessageExtractor
    {
        /// <summary>The group asked its router to let it stop: what reaches it is handed back, not to a partition.</summary>
        public bool Retiring { get; set; }

        public string? EntityId(object message) => Retiring ? null : message switch
        {
            IConsumerSettlement settlement when settlement.Partition >= 0 && settlement.Partition < partitions => Id(settlement.Partition),
            _ => null,
        };

        public object EntityMessage(object message) => message;
    }

    private sealed record SubscribeOutcome(IActorRef Member, IActorRef ReplyTo, string? Problem);

    private sealed record ConsumerGone(object Reply, IActorRef ReplyTo);

    private sealed class ConsumerUnknown
    {
        public static readonly ConsumerUnknown Instance = new();
    }

    /// <summary>Every partition has started (or refused) the consumer: the member joins, or the subscribe is rejected.</summary>
    private sealed class StartAggregator : ReceiveActor
    {
        public StartAggregator(int expected, IActorRef member, IActorRef replyTo, IActorRef group)
        {
            var problems = new List<string>();
            Receive<ConsumerStartResult>(result =>
            {
                if (result.Problem is { } problem && !problems.Contains(problem))
                    problems.Add(problem);
                if (--expected > 0)
                    return;
                group.Tell(new SubscribeOutcome(member, replyTo, problems.Count == 0 ? null : string.Join("; ", problems)));
                Context.Stop(Self);
            });
        }
    }

    private sealed class InfoAggregator : ReceiveActor
    {
        public InfoAggregator(string channel, string consumer, int expected, int members, IActorRef replyTo, IActorRef group)
        {
            var infos = new List<PartitionConsumerInfo>();
            var answered = 0;
            Receive<PartitionInfoResult>(result =>
            {
                if (result.Info is { } info)
                    infos.Add(info);
                if (++answered < expected)
                    return;
                replyTo.Tell(infos.Count == 0
                    ? new ChannelRejected(channel, $"no consumer named '{consumer}' on channel '{channel}'")
                    : new ConsumerInfo(channel, consumer, [.. infos.OrderBy(i => i.Partition)], members));
                if (infos.Count == 0)
                    group.Tell(ConsumerUnknown.Instance);
                Context.Stop(Self);
            });
        }
    }

    private sealed class DeleteAggregator : ReceiveActor
    {
        public DeleteAggregator(string channel, string consumer, int expected, IActorRef replyTo)
        {
            var problems = new List<string>();
            var answered = 0;
            Receive<ConsumerStateDeleted>(result =>
            {
                if (result.Problem is { } problem)
                    problems.Add(problem);
                if (++answered < expected)
                    return;
                Context.Parent.Tell(new ConsumerGone(problems.Count == 0
                    ? new ConsumerDeleted(channel, consumer)
                    : new ChannelRejected(channel, $"consumer '{consumer}' could not be deleted ({string.Join("; ", problems.Distinct())}); retry"), replyTo));
                Context.Stop(Self);
            });
        }
    }
}
