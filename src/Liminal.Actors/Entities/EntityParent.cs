using Akka.Actor;
using Akka.Event;

namespace Liminal.Actors.Entities;

/// <summary>
/// Owns the entities of one family: creates each on its first message, routes by an
/// <see cref="IEntityMessageExtractor"/>, and never loses a message while an entity is away. An entity that
/// passivates is recreated on its next message; one that stops unexpectedly (a persistent actor whose journal
/// write failed) is recreated after an exponential backoff, with its messages buffered until then. A full
/// buffer answers with the family's typed "overloaded" reply rather than dropping the message.
/// </summary>
/// <remarks>
/// A persistent actor stops itself when a journal write fails, and whatever was still in its mailbox (or
/// sent to it before the parent saw it terminate) becomes a dead letter. The parent watches the dead letters
/// addressed to its own children and answers each with the family's typed "overloaded" reply (retry later), so
/// no request goes unanswered; it does not deliver them to the next incarnation, which may already have been
/// handed later messages: order between one sender's requests is kept.
/// </remarks>
public abstract class EntityParent : UntypedActor, IWithTimers
{
    private readonly IEntityMessageExtractor _extractor;
    private readonly EntityParentSettings _settings;
    private readonly TimeProvider _clock;
    private readonly Dictionary<string, IActorRef> _entities = new(StringComparer.Ordinal);
    private readonly Dictionary<IActorRef, string> _idsByRef = new();
    private readonly Dictionary<string, Queue<(object Message, IActorRef Sender)>> _buffers = new(StringComparer.Ordinal);
    private readonly HashSet<string> _passivating = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (int Count, DateTimeOffset Last)> _failures = new(StringComparer.Ordinal);

    protected EntityParent(IEntityMessageExtractor extractor, EntityParentSettings settings, TimeProvider clock)
    {
        _extractor = extractor;
        _settings = settings;
        _clock = clock;
    }

    public ITimerScheduler Timers { get; set; } = null!;

    protected ILoggingAdapter Log { get; } = Context.GetLogger();

    /// <summary>Props of the entity with the given id.</summary>
    protected abstract Props EntityProps(string entityId);

    /// <summary>The typed reply for a message that cannot be buffered, or null to drop it (for one-way messages).</summary>
    protected abstract object? Overloaded(object message);

    /// <summary>An entity stopped unexpectedly (it is restarted after a backoff; its messages are buffered meanwhile).</summary>
    protected virtual void OnEntityStopped(string entityId) { }

    /// <summary>Messages not addressed to an entity.</summary>
    protected virtual void OnNonEntityMessage(object message) => Unhandled(message);

    protected override void PreStart() => Context.System.EventStream.Subscribe(Self, typeof(DeadLetter));

    protected override void PostStop() => Context.System.EventStream.Unsubscribe(Self);

    protected sealed override void OnReceive(object message)
    {
        switch (message)
        {
            case DeadLetter dead:
                OnDeadLetter(dead);
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

        GetOrCreate(entityId).Tell(message, sender);
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
        _idsByRef[entity] = entityId;
        return entity;
    }

    private void OnDeadLetter(DeadLetter dead)
    {
        if (!Self.Path.Equals(dead.Recipient.Path.Parent) || dead.Message is RestartEntity)
            return;
        // A bounce from the current incarnation means it is stopping: buffer from now on, before Terminated.
        if (_idsByRef.TryGetValue(dead.Recipient, out var dying))
            _buffers.TryAdd(dying, new Queue<(object, IActorRef)>());
        // It was sent before messages that may already be buffered or delivered to the next incarnation: delivering it
        // now would reorder them (one producer's publishes stored out of order). Refuse it, typed, so its sender retries.
        if (Overloaded(dead.Message) is { } refusal)
            dead.Sender.Tell(refusal);
        else
            Deliver(Uri.UnescapeDataString(dead.Recipient.Path.Name), dead.Message, dead.Sender);
    }

    private void OnPassivate(Akka.Cluster.Sharding.Passivate passivate)
    {
        if (!_idsByRef.TryGetValue(Sender, out var id) || _passivating.Contains(id))
            return;
        _passivating.Add(id);
        _buffers.TryAdd(id, new Queue<(object, IActorRef)>());
        Sender.Tell(passivate.StopMessage);
    }

    /// <summary>False when the terminated actor is not one of this parent's entities (e.g. a watched subscriber).</summary>
    private bool OnEntityTerminated(IActorRef entity)
    {
        if (!_idsByRef.Remove(entity, out var id))
            return false;
        _entities.Remove(id);

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
        _buffers.TryAdd(id, new Queue<(object, IActorRef)>());
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
            entity.Tell(item.Message, item.Sender);
    }
}
