using System.Diagnostics;
using Akka.Actor;
using Akka.Event;
using Liminal.Actors.Dedup;
using Liminal.Actors.Entities;
using Liminal.Actors.Tracing;
using Liminal.Actors.Validation;

namespace Liminal.Actors.Channels;

/// <summary>A message for one partition of the router's channel.</summary>
internal sealed record ToPartition(int Partition, object Message) : INoSerializationVerificationNeeded;

/// <summary>
/// One channel: validates every publish against the channel's schema before anything is stored, routes it to its
/// partition (by <c>PartitionKey</c>, else by idempotency key, else partition 0), keeps the subscribers
/// (DeathWatch removes dead ones), owns the durable partitions (restarting them with backoff) and streams replays
/// from the journal. A durable partition decides keys and stores messages (<see cref="ChannelPartition"/>); an
/// ephemeral channel has nothing to store, so its key windows live here, for one run of the bus.
/// </summary>
internal sealed class ChannelRouter : EntityParent
{
    private readonly ChannelDefinition _definition;
    private readonly ChannelSchema _schema;
    private readonly PartitionSettings _partitionSettings;
    private readonly EntityParentSettings _parentSettings;
    // Subscriber -> where its deliveries go: itself, or its outbox when it asked for a bound.
    private readonly Dictionary<IActorRef, IActorRef> _subscribers = [];
    // The delivery targets, replaced (never changed) when a subscriber comes or goes: a write in flight keeps its own.
    private IActorRef[] _targets = [];
    private readonly KeyWindow?[] _ephemeralKeys;
    // Keys stored in partition 0 by a version that routed every keyed publish without a partition key there; null
    // until partition 0 has recovered.
    private HashSet<string>? _legacyKeys;
    // Until partition 0 has recovered for the first time, publishes (and drains behind them) wait here, in order, so
    // that no key is routed by its hash before it is known not to be one of those. If partition 0 stops first, they
    // go on; only the publishes that need those keys are refused until it has recovered.
    private readonly Queue<(object Request, IActorRef Sender)> _heldForPartitionZero = new();
    private bool _partitionZeroStoppedBeforeRecovery;
    private bool _draining;
    private readonly Metrics.LiminalMetrics _metrics = Metrics.LiminalMetrics.For(Context.System);
    // The durable consumers of this channel that are running, by name.
    private readonly Dictionary<string, IActorRef> _consumerGroups = new(StringComparer.Ordinal);
    private readonly Dictionary<IActorRef, string> _consumerNames = [];
    // Consumers whose group is stopping (idle or deleted), with the requests that wait for their next group: a request
    // forwarded to a stopping group would go unanswered, and two groups of one consumer would write the same state.
    private readonly Dictionary<string, List<(object Request, IActorRef Sender)>> _retiringGroups = new(StringComparer.Ordinal);

    public ChannelRouter(ChannelDefinition definition, ChannelSchema schema, PartitionSettings partitionSettings, EntityParentSettings parentSettings)
        : base(new PartitionExtractor(), parentSettings, partitionSettings.Clock)
    {
        _definition = definition;
        _schema = schema;
        _partitionSettings = partitionSettings;
        _parentSettings = parentSettings;
        _ephemeralKeys = new KeyWindow?[definition.Durable ? 0 : definition.Partitions];
        if (!definition.Durable || definition.Partitions == 1)
            _legacyKeys = [];
    }

    public static Props Props(ChannelDefinition definition, ChannelSchema schema, PartitionSettings partitionSettings, EntityParentSettings parentSettings) =>
        Akka.Actor.Props.Create(() => new ChannelRouter(definition, schema, partitionSettings, parentSettings));

    protected override void PreStart()
    {
        base.PreStart();
        if (_definition.Durable)
            StartEntities(Enumerable.Range(0, _definition.Partitions).Select(PartitionId));
    }

    protected override Props EntityProps(string entityId) =>
        ChannelPartition.Props(_definition.Name, int.Parse(entityId, System.Globalization.CultureInfo.InvariantCulture), _partitionSettings,
            RetentionLimits.Of(_definition));

    // The base sends what these return: each is a rejection counted here.
    protected override object? Overloaded(object message)
    {
        if (message is PurgePartition purge)
            return new ChannelRejected(_definition.Name, $"partition {purge.Partition} restarting or recovering; retry the purge later");
        if (message is not AppendToPartition)
            return null;
        _metrics.PublishRejected(PublishFailure.Overloaded);
        return new PublishRejected(_definition.Name, PublishFailure.Overloaded, "partition restarting or recovering; retry later");
    }

    protected override object? Refusal(object message)
    {
        if (message is Publish)
            _metrics.PublishRejected(PublishFailure.DeliveryFailed);
        return RefusalOf(message);
    }

    private object? RefusalOf(object message) => message switch
    {
        Publish => new PublishRejected(_definition.Name, PublishFailure.DeliveryFailed,
            "the channel failed while handling this publish (logged): it was not stored and may have reached only some subscribers; retry"),
        Subscribe or Unsubscribe or Replay or PurgeChannel => new ChannelRejected(_definition.Name, "the channel failed while handling this request (logged); retry"),
        _ => Overloaded(message),
    };

    protected override void OnNonEntityMessage(object message)
    {
        switch (message)
        {
            case Publish publish:
                OnPublish(publish, Sender);
                break;
            case LegacyKeysRecovered recovered:
                _legacyKeys = recovered.Keys
                    .Where(key => DedupKeys.ShardOf(key, _definition.Partitions) != 0)
                    .ToHashSet(StringComparer.Ordinal);
                ReleaseHeld();
                break;
            case Subscribe subscribe when RequestValidation.Subscribe(subscribe) is { } rejected:
                // A subscriber that can never receive (dead letters, Nobody) would count as delivered to.
                Sender.Tell(rejected);
                break;
            case Subscribe subscribe:
                if (!_subscribers.ContainsKey(subscribe.Subscriber))
                {
                    _subscribers[subscribe.Subscriber] = subscribe.MaxUnacknowledged is { } bound
                        ? Context.ActorOf(SubscriberOutbox.Props(subscribe.Subscriber, bound, subscribe.BufferSize))
                        : subscribe.Subscriber;
                    _targets = [.. _subscribers.Values];
                    Context.Watch(subscribe.Subscriber);
                }
                Sender.Tell(new Subscribed(_definition.Name));
                break;
            case Unsubscribe unsubscribe:
                if (unsubscribe.Subscriber is not null)
                    RemoveSubscriber(unsubscribe.Subscriber);
                Sender.Tell(new Unsubscribed(_definition.Name));
                break;
            case Terminated terminated when _consumerNames.Remove(terminated.ActorRef, out var consumerName):
                OnConsumerGroupStopped(terminated.ActorRef, consumerName);
                break;
            case Consumers.RetireConsumerGroup retire when _consumerNames.TryGetValue(Sender, out var retiring)
                                                           && _consumerGroups.TryGetValue(retiring, out var current) && current.Equals(Sender):
                _consumerGroups.Remove(retiring);
                _retiringGroups[retiring] = [];
                if (retire.Reply is not null)
                    retire.ReplyTo?.Tell(retire.Reply);
                Sender.Tell(Consumers.ConsumerGroupRetired.Instance);
                break;
            case Terminated terminated:
                RemoveSubscriber(terminated.ActorRef);
                break;
            case SubscribeDurable subscribe:
                OnSubscribeDurable(subscribe);
                break;
            case IConsumerSettlement or GetConsumerInfo or DeleteConsumer:
                OnConsumerRequest(message);
                break;
            case RedriveDeadLetter redrive:
                OnRedrive(redrive);
                break;
            case DrainPublishes:
                OnDrain();
                break;
            case Replay replay:
                OnReplay(replay);
                break;
            case PurgeChannel:
                OnPurge();
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    private void RemoveSubscriber(IActorRef subscriber)
    {
        if (!_subscribers.Remove(subscriber, out var target))
            return;
        _targets = [.. _subscribers.Values];
        Context.Unwatch(subscriber);
        if (!target.Equals(subscriber))
            Context.Stop(target);
    }

    private void Reject(IActorRef publisher, PublishFailure reason, string detail, Activity? span = null)
    {
        _metrics.PublishRejected(reason);
        span?.SetTag("liminal.rejection", reason.ToString());
        LiminalTracing.Stop(span, detail);
        publisher.Tell(new PublishRejected(_definition.Name, reason, detail));
    }

    /// <summary>No new publishes from now; <see cref="Drained"/> once every partition has finished the writes sent to it.</summary>
    private void OnDrain()
    {
        _draining = true;
        if (!_definition.Durable)
        {
            // An ephemeral publish is answered when it is handled: none is ever in flight here.
            Sender.Tell(Drained.Instance);
            return;
        }
        // The publishes held until partition 0 has recovered were accepted before this drain: drain behind them.
        if (_heldForPartitionZero.Count > 0)
            _heldForPartitionZero.Enqueue((DrainPublishes.Instance, Sender));
        else
            DrainPartitions(Sender);
    }

    protected override void OnEntityStopped(string entityId)
    {
        if (entityId != PartitionId(0) || _legacyKeys is not null)
            return;
        _partitionZeroStoppedBeforeRecovery = true;
        ReleaseHeld();
    }

    private void ReleaseHeld()
    {
        while (_heldForPartitionZero.TryDequeue(out var held))
        {
            if (held.Request is Publish publish)
                Route(publish, held.Sender);
            else
                DrainPartitions(held.Sender);
        }
    }

    private void DrainPartitions(IActorRef requester)
    {
        var aggregator = Context.ActorOf(DrainAggregator.Props(requester, _definition.Partitions));
        for (var partition = 0; partition < _definition.Partitions; partition++)
            Deliver(PartitionId(partition), DrainPublishes.Instance, aggregator);
    }

    private void OnPublish(Publish publish, IActorRef publisher)
    {
        var span = LiminalTracing.Enabled ? StartPublishSpan(ref publish) : null;
        try
        {
            Admit(publish, publisher, span);
        }
        finally
        {
            LiminalTracing.Stop(span);
        }
    }

    /// <summary>
    /// The span of the publish's arrival, a child of the producer's <c>traceparent</c>; when the envelope carries none,
    /// it carries this span's from here on (stored and delivered with the message), so the message's trace starts here.
    /// </summary>
    private Activity? StartPublishSpan(ref Publish publish)
    {
        // Malformed headers are rejected below; until then they are no trace parent.
        var envelope = publish.Envelope;
        var wellFormed = envelope is not null && InputRules.HeadersProblem(envelope.Headers) is null;
        var parent = wellFormed ? LiminalTracing.ContextOf(envelope!) : default;
        var span = LiminalTracing.StartDetached($"publish {_definition.Name}", ActivityKind.Producer, parent, LiminalTracing.Tags(_definition.Name));
        if (span is { Id: { } id } && wellFormed && parent == default)
        {
            var headers = LiminalTracing.WithTrace(envelope!.Headers, id, span.TraceStateString);
            // Only within the header limits the producer's own headers left room for.
            if (InputRules.HeadersProblem(headers) is null)
                publish = publish with { Envelope = envelope with { Headers = headers } };
        }
        return span;
    }

    private void Admit(Publish publish, IActorRef publisher, Activity? span)
    {
        if (_draining)
        {
            Reject(publisher, PublishFailure.ShuttingDown, "the bus is shutting down and takes no new publishes", span);
            return;
        }
        // The cheap checks (sizes, ids, keys) before the schema parses the payload.
        if (RequestValidation.Publish(publish, _partitionSettings.MaxPayloadBytes) is { } rejected)
        {
            Reject(publisher, rejected.Reason, rejected.Detail, span);
            return;
        }
        if (_schema.Check(publish.Envelope.Payload) is { } problem)
        {
            Reject(publisher, PublishFailure.SchemaMismatch, problem, span);
            return;
        }

        if (_legacyKeys is not null || _partitionZeroStoppedBeforeRecovery)
            Route(publish, publisher);
        else if (_heldForPartitionZero.Count < _parentSettings.BufferSize)
            _heldForPartitionZero.Enqueue((publish, publisher));
        else
            Reject(publisher, PublishFailure.Overloaded, "partition 0 is recovering; retry later", span);
    }

    private void Route(Publish publish, IActorRef publisher)
    {
        // A key's scope is its channel: with no PartitionKey, the key itself chooses the partition, so every
        // retry of a key meets the partition that knows it.
        if (publish.PartitionKey is null && publish.IdempotencyKey is not null && _legacyKeys is null)
        {
            Reject(publisher, PublishFailure.Overloaded, "partition 0 has not recovered, so whether an older version stored this key there is unknown; retry later");
            return;
        }
        var partition = publish.PartitionKey is { } partitionKey ? DedupKeys.ShardOf(partitionKey, _definition.Partitions)
            : publish.IdempotencyKey is { } key && !_legacyKeys!.Contains(key) ? DedupKeys.ShardOf(key, _definition.Partitions)
            : 0;
        if (_definition.Durable)
            Deliver(PartitionId(partition), new AppendToPartition(publish, _targets), publisher);
        else
            PublishEphemeral(publish, partition, publisher);
    }

    /// <summary>Nothing is stored: the message goes to the subscribers now, its key known for the rest of this run.</summary>
    private void PublishEphemeral(Publish publish, int partition, IActorRef publisher)
    {
        ProcessingReceipt? receipt = null;
        PublishAck ack;
        if (publish.IdempotencyKey is { } key)
        {
            var keys = _ephemeralKeys[partition] ??= new KeyWindow(_partitionSettings.DedupWindow, _partitionSettings.MaxKeysPerPartition);
            var now = _partitionSettings.Clock.GetUtcNow().ToUnixTimeMilliseconds();
            receipt = Receipts.For(_definition.Name, partition, null);
            if (keys.Find(key, now) is not null)
            {
                _metrics.DuplicateSuppressed(_definition.Name);
                ack = new PublishAck(_definition.Name, partition, null, false, 0, Duplicate: true, InFlight: false, receipt);
                ChannelSpans.Ack(publish.Envelope, ack);
                publisher.Tell(ack);
                return;
            }
            if (keys.Add(key, new StoredKey(null, now)) is > 0 and var evicted)
                _metrics.DedupWindowEvicted(_definition.Name, evicted);
        }
        var delivery = new Delivery(_definition.Name, partition, null, publish.Envelope);
        var delivered = _targets.Count(subscriber => TryDeliver(subscriber, delivery));
        ChannelSpans.Deliver(delivery, delivered);
        _metrics.Published(_definition.Name, delivered);
        ack = new PublishAck(_definition.Name, partition, null, delivered > 0, delivered, Duplicate: false, InFlight: false, receipt);
        ChannelSpans.Ack(publish.Envelope, ack);
        publisher.Tell(ack);
    }

    /// <summary>
    /// False when telling the subscriber threw (a caller's own in-process ref): the others still get the message, and
    /// the publish, whose key is taken by now, is acked with those it reached rather than refused (its retry would be
    /// a duplicate, never delivered).
    /// </summary>
    private bool TryDeliver(IActorRef subscriber, Delivery delivery)
    {
        try
        {
            subscriber.Tell(delivery, ActorRefs.NoSender);
            return true;
        }
        catch (Exception error)
        {
            Log.Error(error, "Channel {0}: telling subscriber {1} a delivery threw; it does not count as delivered to", _definition.Name, subscriber.Path);
            return false;
        }
    }

    private void OnReplay(Replay replay)
    {
        if (!_definition.Durable)
        {
            Sender.Tell(new ChannelRejected(_definition.Name, "replay needs a durable channel"));
            return;
        }
        if (replay.Partition < 0 || replay.Partition >= _definition.Partitions || replay.Subscriber is null)
        {
            Sender.Tell(new ChannelRejected(_definition.Name, $"replay needs a partition in 0..{_definition.Partitions - 1} and a subscriber"));
            return;
        }
        if (RequestValidation.Replay(replay) is { } rejected)
        {
            Sender.Tell(rejected);
            return;
        }
        PartitionReplay.Run(Context.System, _definition.Name, replay.Partition, replay.FromSequenceNr, replay.Subscriber);
    }

    private void OnSubscribeDurable(SubscribeDurable subscribe)
    {
        string? problem = !_definition.Durable ? $"channel '{_definition.Name}' is ephemeral: a durable consumer needs a durable channel"
            : RequestValidation.SubscribeDurable(subscribe)?.Reason;
        if (problem is null && subscribe.Options.Filter is { } filter && !Consumers.ConsumerFilter.TryParse(filter, out _, out var filterError))
            problem = $"filter: {filterError}";
        if (problem is null && Consumers.ConsumerPartition.PersistenceIdOf(_definition.Name, subscribe.Consumer, _definition.Partitions - 1).Length > InputRules.MaxPersistenceIdLength)
            problem = $"channel and consumer names are too long together (the consumer's persistence id must fit {InputRules.MaxPersistenceIdLength} characters)";
        if (problem is not null)
        {
            Sender.Tell(new ChannelRejected(_definition.Name, problem));
            return;
        }
        ToConsumerGroup(subscribe.Consumer, subscribe);
    }

    private void OnConsumerRequest(object request)
    {
        var consumer = request switch
        {
            IConsumerSettlement settlement => settlement.Consumer,
            GetConsumerInfo info => info.Consumer,
            DeleteConsumer delete => delete.Consumer,
            _ => null,
        };
        if (RequestValidation.Reject(request, _partitionSettings.MaxPayloadBytes) is { } rejected)
        {
            Sender.Tell(rejected);
            return;
        }
        if (!_definition.Durable)
        {
            var reason = $"channel '{_definition.Name}' is ephemeral: it has no durable consumers";
            Sender.Tell(request switch
            {
                IConsumerSettlement settlement => AckRejected.For(settlement, reason),
                _ => new ChannelRejected(_definition.Name, reason),
            });
            return;
        }
        ToConsumerGroup(consumer!, request);
    }

    /// <summary>To the consumer's running group, or, while its group stops, held for the next one.</summary>
    private void ToConsumerGroup(string consumer, object request)
    {
        if (_retiringGroups.TryGetValue(consumer, out var held))
            held.Add((request, Sender));
        else
            ConsumerGroup(consumer).Forward(request);
    }

    private void OnConsumerGroupStopped(IActorRef group, string consumer)
    {
        if (_consumerGroups.TryGetValue(consumer, out var current) && current.Equals(group))
            _consumerGroups.Remove(consumer);
        if (!_retiringGroups.Remove(consumer, out var held) || held.Count == 0)
            return;
        var next = ConsumerGroup(consumer);
        foreach (var (request, sender) in held)
            next.Tell(request, sender);
    }

    /// <summary>The running group of the consumer, started (it recovers its stored state) if it is not running.</summary>
    private IActorRef ConsumerGroup(string consumer)
    {
        if (_consumerGroups.TryGetValue(consumer, out var group))
            return group;
        group = Context.ActorOf(Consumers.ConsumerGroup.Props(_definition.Name, consumer, _definition.Partitions,
            new Consumers.ConsumerSettings(_partitionSettings.SnapshotEvery, _partitionSettings.Clock), _parentSettings, Self, Context.Parent),
            "consumer-" + Uri.EscapeDataString(consumer));
        Context.Watch(group);
        _consumerGroups[consumer] = group;
        _consumerNames[group] = consumer;
        return group;
    }

    private void OnRedrive(RedriveDeadLetter redrive)
    {
        if (!_definition.Durable)
        {
            Sender.Tell(new PublishRejected(_definition.Name, PublishFailure.UnknownChannel, $"channel '{_definition.Name}' is ephemeral: it holds no dead letters"));
            return;
        }
        if (RequestValidation.Reject(redrive, _partitionSettings.MaxPayloadBytes) is { } rejected)
        {
            Sender.Tell(rejected);
            return;
        }
        Consumers.Redrive.Run(Context.System, _definition.Name, redrive.SequenceNr, Context.Parent, Sender);
    }

    private void OnPurge()
    {
        if (!_definition.Durable)
        {
            Sender.Tell(new ChannelRejected(_definition.Name, "purge needs a durable channel: an ephemeral channel stores nothing"));
            return;
        }
        var aggregator = Context.ActorOf(PurgeAggregator.Props(Sender, _definition.Name, _definition.Partitions));
        for (var partition = 0; partition < _definition.Partitions; partition++)
            Deliver(PartitionId(partition), new PurgePartition(partition), aggregator);
    }

    private static string PartitionId(int partition) => partition.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private sealed class PartitionExtractor : IEntityMessageExtractor
    {
        public string? EntityId(object message) => message is ToPartition to ? PartitionId(to.Partition) : null;

        public object EntityMessage(object message) => ((ToPartition)message).Message;
    }
}
