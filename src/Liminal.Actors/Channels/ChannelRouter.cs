using Akka.Actor;
using Akka.Streams;
using Liminal.Actors.Dedup;
using Liminal.Actors.Entities;

namespace Liminal.Actors.Channels;

/// <summary>A message for one partition of the router's channel.</summary>
internal sealed record ToPartition(int Partition, object Message) : INoSerializationVerificationNeeded;

/// <summary>
/// One channel: validates every publish against the channel's schema before anything is claimed or persisted,
/// starts a <see cref="PublishSaga"/> per accepted publish, keeps the subscribers (DeathWatch removes dead ones),
/// owns the durable partitions (restarting them with backoff) and streams replays from the journal.
/// </summary>
internal sealed class ChannelRouter : EntityParent
{
    private readonly ChannelDefinition _definition;
    private readonly ChannelSchema _schema;
    private readonly IActorRef _dedup;
    // Subscriber -> where its deliveries go: itself, or its outbox when it asked for a bound.
    private readonly Dictionary<IActorRef, IActorRef> _subscribers = [];
    private readonly HashSet<IActorRef> _publishesInFlight = [];
    private readonly List<IActorRef> _awaitingDrain = [];
    private bool _draining;

    private readonly string _incarnation;

    public ChannelRouter(ChannelDefinition definition, ChannelSchema schema, IActorRef dedup, EntityParentSettings parentSettings, TimeProvider clock,
        string incarnation)
        : base(new PartitionExtractor(), parentSettings, clock)
    {
        _incarnation = incarnation;
        _definition = definition;
        _schema = schema;
        _dedup = dedup;
    }

    public static Props Props(ChannelDefinition definition, ChannelSchema schema, IActorRef dedup, EntityParentSettings parentSettings, TimeProvider clock,
        string incarnation) =>
        Akka.Actor.Props.Create(() => new ChannelRouter(definition, schema, dedup, parentSettings, clock, incarnation));

    protected override void PreStart()
    {
        base.PreStart();
        if (_definition.Durable)
            StartEntities(Enumerable.Range(0, _definition.Partitions).Select(PartitionId));
    }

    protected override Props EntityProps(string entityId) => ChannelPartition.Props(_definition.Name, int.Parse(entityId));

    protected override object? Overloaded(object message) =>
        message is AppendToPartition or FindStoredKey ? new PublishRejected(_definition.Name, PublishFailure.Overloaded, "partition restarting; retry later") : null;

    protected override void OnNonEntityMessage(object message)
    {
        switch (message)
        {
            case Publish publish:
                OnPublish(publish);
                break;
            case Subscribe { Subscriber: null }:
                Sender.Tell(new ChannelRejected(_definition.Name, "subscriber missing"));
                break;
            case Subscribe subscribe:
                if (!_subscribers.ContainsKey(subscribe.Subscriber))
                {
                    _subscribers[subscribe.Subscriber] = subscribe.MaxUnacknowledged is { } bound
                        ? Context.ActorOf(SubscriberOutbox.Props(subscribe.Subscriber, bound, subscribe.BufferSize))
                        : subscribe.Subscriber;
                    Context.Watch(subscribe.Subscriber);
                }
                Sender.Tell(new Subscribed(_definition.Name));
                break;
            case Unsubscribe unsubscribe:
                if (unsubscribe.Subscriber is not null)
                    RemoveSubscriber(unsubscribe.Subscriber);
                Sender.Tell(new Unsubscribed(_definition.Name));
                break;
            case Terminated terminated when _publishesInFlight.Remove(terminated.ActorRef):
                ReplyIfDrained();
                break;
            case Terminated terminated:
                RemoveSubscriber(terminated.ActorRef);
                break;
            case DrainPublishes:
                _draining = true;
                _awaitingDrain.Add(Sender);
                ReplyIfDrained();
                break;
            case Replay replay:
                OnReplay(replay);
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
        Context.Unwatch(subscriber);
        if (!target.Equals(subscriber))
            Context.Stop(target);
    }

    private void Reject(PublishFailure reason, string detail)
    {
        Metrics.LiminalMetrics.For(Context.System).PublishRejected();
        Sender.Tell(new PublishRejected(_definition.Name, reason, detail));
    }

    private void ReplyIfDrained()
    {
        if (!_draining || _publishesInFlight.Count > 0)
            return;
        foreach (var requester in _awaitingDrain)
            requester.Tell(Drained.Instance);
        _awaitingDrain.Clear();
    }

    private void OnPublish(Publish publish)
    {
        if (_draining)
        {
            Reject(PublishFailure.ShuttingDown, "the bus is shutting down and takes no new publishes");
            return;
        }
        if (publish.Envelope?.Payload is null)
        {
            Reject(PublishFailure.SchemaMismatch, "envelope or payload missing");
            return;
        }
        if (_schema.Check(publish.Envelope.Payload) is { } problem)
        {
            Reject(PublishFailure.SchemaMismatch, problem);
            return;
        }
        if (publish.IdempotencyKey is not null && !DedupKeys.IsValid(publish.IdempotencyKey))
        {
            Reject(PublishFailure.InvalidKey, $"an idempotency key must be 1 to {DedupKeys.MaxKeyBytes} UTF-8 bytes");
            return;
        }

        var partition = publish.PartitionKey is null ? 0 : DedupKeys.ShardOf(publish.PartitionKey, _definition.Partitions);
        var saga = Context.ActorOf(PublishSaga.Props(publish, partition, _definition.Durable, _subscribers.Values.ToArray(), Self, _dedup, Sender, _incarnation));
        Context.Watch(saga);
        _publishesInFlight.Add(saga);
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

        var subscriber = replay.Subscriber;
        var channel = _definition.Name;
        var last = Math.Max(0, replay.FromSequenceNr - 1);
        // The stream runs outside the actor and touches no actor state: it only tells the subscriber.
        ChannelPartition.ReadLog(Context.System, channel, replay.Partition, replay.FromSequenceNr, long.MaxValue)
            .RunForeach(envelope =>
            {
                last = envelope.SequenceNr;
                subscriber.Tell(new Delivery(channel, replay.Partition, envelope.SequenceNr, ((MessageAppended)envelope.Event).ToEnvelope()), ActorRefs.NoSender);
            }, Context.System.Materializer())
            .ContinueWith(done => subscriber.Tell(done.IsCompletedSuccessfully
                ? new ReplayCompleted(channel, replay.Partition, last)
                : new ChannelRejected(channel, $"replay failed: {done.Exception?.GetBaseException().Message}"), ActorRefs.NoSender),
                TaskScheduler.Default);
    }

    private static string PartitionId(int partition) => partition.ToString(System.Globalization.CultureInfo.InvariantCulture);

    private sealed class PartitionExtractor : IEntityMessageExtractor
    {
        public string? EntityId(object message) => message is ToPartition to ? PartitionId(to.Partition) : null;

        public object EntityMessage(object message) => ((ToPartition)message).Message;
    }
}
