using Akka.Actor;
using Akka.Event;

namespace Liminal.Actors.Entities;

/// <summary>
/// Owns the entities of one family: creates each on its first message, routes by an
/// <see cref="IEntityMessageExtractor"/>, and never loses a message while an entity is away. An entity that
/// passivates is recreated on its next message; one that stops unexpectedly (a persistent actor whose journal
/// write failed) is recreated after an exponential backoff, with its messages buffered until then. A full
/// buffer answers with the family's typed "overloaded" reply rather than dropping the message; so does an entity that
/// is still recovering once it has been handed a buffer's worth of messages.
/// </summary>
/// <remarks>
/// <para>A failing entity answers what it owes and stops (a persistent entity answers every command it has taken
/// with its typed failure). What it never took — still in its mailbox, or sent before the parent learned of the
/// stop — is answered here, with the family's typed "overloaded" reply (retry later), from the parent's own record:
/// each message handed to an entity is numbered and kept until the entity reports having taken it, and an entity
/// reports the last one it took as it stops, before the parent sees it terminate (<see cref="EntityIntake"/>). The
/// parent never reads the actor system's dead letters and never derives an entity id from an actor's name: a dead
/// letter addressed to any other child (a subscriber's outbox) is nothing to it. Those messages are not handed to
/// the next incarnation, which may already have been given later ones: order between one sender's requests is kept.</para>
/// <para>Nothing a message does can restart the parent: its state (the entities, what they owe, and whatever a
/// subclass keeps, such as a channel's subscribers) would be lost with it. A message whose handling throws is
/// logged and refused with <see cref="Refusal"/>, and the parent goes on with its state, as a resumed actor would.</para>
/// <para>Entities are hosted as an Akka.Cluster.Sharding shard region hosts them: an extractor, one <c>Props</c> per
/// entity, <c>Passivate</c> answered with the entity's stop message while its next messages are buffered, and idle
/// entities passivated by the parent (<see cref="PassivateIdleAfter"/>, as <c>passivate-idle-entity-after</c>).</para>
/// </remarks>
public abstract class EntityParent : UntypedActor, IWithTimers
{
    private readonly IEntityMessageExtractor _extractor;
    private readonly EntityParentSettings _settings;
    private readonly TimeProvider _clock;
    private readonly Dictionary<string, IActorRef> _entities = new(StringComparer.Ordinal);
    private readonly Dictionary<IActorRef, Incarnation> _incarnations = new();
    private readonly Dictionary<string, Queue<(object Message, IActorRef Sender)>> _buffers = new(StringComparer.Ordinal);
    private readonly HashSet<string> _passivating = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (int Count, DateTimeOffset Last)> _failures = new(StringComparer.Ordinal);
    private TimeSpan? _passivateIdleAfter;

    protected EntityParent(IEntityMessageExtractor extractor, EntityParentSettings settings, TimeProvider clock)
    {
        _extractor = extractor;
        _settings = settings;
        _clock = clock;
    }

    public ITimerScheduler Timers { get; set; } = null!;

    protected ILoggingAdapter Log { get; } = Context.GetLogger();

    /// <summary>
    /// Props of the entity with the given id. The entity takes its messages through an <see cref="EntityIntake"/>
    /// (every <see cref="Persistence.PersistentEntity{TEvent}"/> does): they arrive numbered, and the parent keeps each
    /// until the entity reports having taken it.
    /// </summary>
    protected abstract Props EntityProps(string entityId);

    /// <summary>The typed reply for a message that cannot be buffered, or null to drop it (for one-way messages).</summary>
    protected abstract object? Overloaded(object message);

    /// <summary>
    /// The typed reply for a message whose handling here threw (a bug, logged), or null for one-way messages; by
    /// default <see cref="Overloaded"/>.
    /// </summary>
    protected virtual object? Refusal(object message) => Overloaded(message);

    /// <summary>An entity stopped unexpectedly (it is restarted after a backoff; its messages are buffered meanwhile).</summary>
    protected virtual void OnEntityStopped(string entityId) { }

    /// <summary>Messages not addressed to an entity.</summary>
    protected virtual void OnNonEntityMessage(object message) => Unhandled(message);

    /// <summary>
    /// An entity handed no message for this long is passivated with <see cref="StopPassivated"/>; null (the default):
    /// entities stay up. As Akka.Cluster.Sharding's <c>passivate-idle-entity-after</c>, only what the parent hands over
    /// counts: the entity's own timers and its journal's replies do not keep it up. Measured on the parent's clock.
    /// </summary>
    protected virtual TimeSpan? PassivateIdleAfter => null;

    protected override void PreStart()
    {
        base.PreStart();
        // One timer here rather than a receive timeout in each entity, which Akka cancels and re-schedules on every
        // message the entity receives (its journal's replies included).
        _passivateIdleAfter = PassivateIdleAfter;
        if (_passivateIdleAfter is { } idle)
            Timers.StartPeriodicTimer(PassivateIdleTick.Instance, PassivateIdleTick.Instance, idle / 4);
    }

    protected sealed override void OnReceive(object message)
    {
        try
        {
            Handle(message);
        }
        catch (Exception error)
        {
            RoutingFaults.Refuse(Context, Log, error, message, Refusal);
        }
    }

    private void Handle(object message)
    {
        switch (message)
        {
            case EntityReceived received:
                OnEntityReceived(received);
                break;
            case Terminated terminated:
                if (!OnEntityTerminated(terminated.ActorRef))
                    OnNonEntityMessage(terminated);
                break;
            case Akka.Cluster.Sharding.Passivate passivate:
                OnPassivate(passivate);
                break;
            case RestartEntity restart:
                Recreate(restart.EntityId);
                break;
            case PassivateIdleTick:
                PassivateIdle();
                break;
            case GetEntityStats:
                Sender.Tell(new EntityStats(_entities.Count, _buffers.Count));
                break;
            default:
                if (_extractor.EntityId(message) is { } id)
                    Deliver(id, _extractor.EntityMessage(message), Sender);
                else
                    OnNonEntityMessage(message);
                break;
        }
    }

    /// <summary>Sends a message to an entity, starting it if needed, or buffers it while the entity is away.</summary>
    protected void Deliver(string entityId, object message, IActorRef sender)
    {
        if (_buffers.TryGetValue(entityId, out var buffer))
        {
            if (buffer.Count < _settings.BufferSize)
                buffer.Enqueue((message, sender));
            else if (Overloaded(message) is { } reply)
                sender.Tell(reply);
            return;
        }

        HandOver(GetOrCreate(entityId), message, sender);
    }

    /// <summary>Starts every listed entity now (for entities that have work to do without being asked).</summary>
    protected void StartEntities(IEnumerable<string> entityIds)
    {
        foreach (var id in entityIds)
            GetOrCreate(id);
    }

    private IActorRef GetOrCreate(string entityId)
    {
        if (_entities.TryGetValue(entityId, out var existing))
            return existing;
        var entity = Context.ActorOf(EntityProps(entityId), Uri.EscapeDataString(entityId));
        Context.Watch(entity);
        _entities[entityId] = entity;
        // Started counts as handed a message: an entity started without one (StartEntities) gets its idle timeout too.
        _incarnations[entity] = new Incarnation(entityId) { LastHandedOver = _clock.GetTimestamp() };
        return entity;
    }

    /// <summary>
    /// Numbers the message and keeps it until the entity reports having taken it. An entity that has taken nothing yet
    /// (still recovering) is handed at most the buffer's worth: the rest is refused, typed, at once.
    /// </summary>
    private void HandOver(IActorRef entity, object message, IActorRef sender)
    {
        var incarnation = _incarnations[entity];
        // Until it has recovered, a persistent entity stashes whatever it is sent, without bound; once it takes its
        // messages, its own admission control (a partition's publishes in flight) bounds what it holds.
        if (!incarnation.Taking && incarnation.Untaken.Count >= _settings.BufferSize && Overloaded(message) is { } refusal)
        {
            sender.Tell(refusal);
            return;
        }
        var number = ++incarnation.Sent;
        incarnation.Untaken.Enqueue((number, message, sender));
        if (_passivateIdleAfter is not null)
            incarnation.LastHandedOver = _clock.GetTimestamp();
        entity.Tell(new EntityEnvelope(number, message), sender);
    }

    private void OnEntityReceived(EntityReceived received)
    {
        // By reference: a report from anything but a current incarnation (or a late one) is ignored.
        if (!_incarnations.TryGetValue(Sender, out var incarnation))
            return;
        incarnation.Taking = true;
        while (incarnation.Untaken.TryPeek(out var next) && next.Number <= received.UpTo)
            incarnation.Untaken.Dequeue();
        if (!received.Final)
            return;
        // It is stopping and has taken all it ever will: from now on its messages wait for the next incarnation.
        _buffers.TryAdd(incarnation.Id, new Queue<(object, IActorRef)>());
        SettleUntaken(incarnation);
    }

    /// <summary>What a stopping incarnation never took (its messages are buffered for the next one by now).</summary>
    private void SettleUntaken(Incarnation incarnation)
    {
        while (incarnation.Untaken.TryDequeue(out var untaken))
        {
            // A request is refused, typed, so its sender retries: handing it to the next incarnation could put it
            // behind messages sent after it (one producer's publishes stored out of order). A one-way message (a
            // drain) waits for the next incarnation, behind what is buffered for it.
            if (Overloaded(untaken.Message) is { } refusal)
                untaken.Sender.Tell(refusal);
            else
                Deliver(incarnation.Id, untaken.Message, untaken.Sender);
        }
    }

    private void OnPassivate(Akka.Cluster.Sharding.Passivate passivate)
    {
        if (_incarnations.TryGetValue(Sender, out var incarnation))
            Passivate(Sender, incarnation, passivate.StopMessage);
    }

    private void PassivateIdle()
    {
        var idleAfter = _passivateIdleAfter!.Value;
        foreach (var (entity, incarnation) in _incarnations)
        {
            // Not one already away (passivating, or stopping after a failed write).
            if (!_buffers.ContainsKey(incarnation.Id) && _clock.GetElapsedTime(incarnation.LastHandedOver) >= idleAfter)
                Passivate(entity, incarnation, StopPassivated.Instance);
        }
    }

    /// <summary>The entity's next messages wait for its next incarnation; it gets its stop message behind what it was handed.</summary>
    private void Passivate(IActorRef entity, Incarnation incarnation, object stopMessage)
    {
        if (!_passivating.Add(incarnation.Id))
            return;
        _buffers.TryAdd(incarnation.Id, new Queue<(object, IActorRef)>());
        entity.Tell(stopMessage);
    }

    /// <summary>False when the terminated actor is not one of this parent's entities (e.g. a watched subscriber).</summary>
    private bool OnEntityTerminated(IActorRef entity)
    {
        if (!_incarnations.Remove(entity, out var incarnation))
            return false;
        var id = incarnation.Id;
        _entities.Remove(id);
        // Without a final report (it never got to run, e.g. its constructor threw) it took nothing beyond its last report.
        _buffers.TryAdd(id, new Queue<(object, IActorRef)>());
        SettleUntaken(incarnation);

        if (_passivating.Remove(id))
        {
            _failures.Remove(id);
            if (_buffers.TryGetValue(id, out var waiting) && waiting.Count > 0)
                Recreate(id);
            else
                _buffers.Remove(id);
            return true;
        }

        var now = _clock.GetUtcNow();
        var failures = _failures.TryGetValue(id, out var previous) && now - previous.Last < _settings.MaxBackoff * 4
            ? previous.Count + 1
            : 1;
        _failures[id] = (failures, now);
        var delay = _settings.BackoffFor(failures);
        Log.Warning("Entity {0} stopped unexpectedly (failure {1}); restarting in {2}", id, failures, delay);
        Timers.StartSingleTimer(("restart", id), new RestartEntity(id), delay);
        OnEntityStopped(id);
        return true;
    }

    private void Recreate(string entityId)
    {
        var entity = GetOrCreate(entityId);
        if (!_buffers.Remove(entityId, out var buffered))
            return;
        while (buffered.TryDequeue(out var item))
            HandOver(entity, item.Message, item.Sender);
    }

    /// <summary>One incarnation of an entity: what it has been handed and not yet reported as taken.</summary>
    private sealed class Incarnation(string id)
    {
        public string Id { get; } = id;

        /// <summary>It has reported taking messages: it has recovered.</summary>
        public bool Taking { get; set; }

        /// <summary>The number of the last message handed over.</summary>
        public long Sent { get; set; }

        /// <summary>When the last message was handed over (a timestamp of the parent's clock), for idle passivation.</summary>
        public long LastHandedOver { get; set; }

        public Queue<(long Number, object Message, IActorRef Sender)> Untaken { get; } = new();
    }
}
