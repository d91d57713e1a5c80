using Akka.Actor;
using Liminal.Actors.Entities;
using Liminal.Actors.Persistence;
using Liminal.Actors.Validation;

namespace Liminal.Actors.Offsets;

/// <summary>One consumer's (or pipeline's) offsets and processing receipts: PersistenceId <c>offsets-{owner}</c>.</summary>
public sealed class ConsumerOffsets : PersistentEntity<IOffsetsEvent>
{
    private readonly string _owner;
    private readonly OffsetsSettings _settings;
    private OffsetsState _state = new();

    public ConsumerOffsets(string owner, OffsetsSettings settings)
    {
        _owner = owner;
        _settings = settings;
        PersistenceId = $"offsets-{owner}";
    }

    public static Props Props(string owner, OffsetsSettings settings) =>
        Akka.Actor.Props.Create(() => new ConsumerOffsets(owner, settings));

    public override string PersistenceId { get; }

    protected override long SnapshotEvery => _settings.SnapshotEvery;

    protected override long SnapshotCost => _state.Count;

    protected override void RestoreSnapshot(object snapshot) => _state = OffsetsState.FromSnapshot((OffsetsSnapshot)snapshot);

    protected override void Apply(IOffsetsEvent @event) => OffsetsState.Apply(_state, @event);

    protected override object Snapshot() => _state.ToSnapshot();

    protected override Conflict ConflictOf(object command) => command switch
    {
        CommitOffset c => Conflict.On("offset:" + c.Stream),
        GetOffset g => Conflict.On("offset:" + g.Stream),
        RecordProcessed r => Conflict.On("processed:" + r.EventId),
        WasProcessed w => Conflict.On("processed:" + w.EventId),
        _ => Conflict.None,
    };

    protected override void Decide(object command, IActorRef sender)
    {
        if (command is not IOffsetsCommand offsetsCommand)
        {
            Unhandled(command);
            return;
        }
        var outcome = OffsetsState.Decide(_state, offsetsCommand, _settings.Clock.GetUtcNow().ToUnixTimeMilliseconds(), _settings.Retention);
        if (outcome.Events.Count == 0)
            Reply(sender, outcome.Reply);
        else
            Persist(outcome.Events, command, sender, _ => outcome.Reply);
    }

    protected override object FailureFor(object command, string detail) =>
        new OffsetRequestRejected(_owner, detail);
}

/// <summary>What every consumer's offsets record needs from <see cref="LiminalSettings"/> (<c>Retention</c>: how long a processed event id is remembered).</summary>
public sealed record OffsetsSettings(long SnapshotEvery, TimeSpan IdleTimeout, TimeSpan Retention, TimeProvider Clock);

/// <summary>
/// The actor behind <c>LiminalBus.Offsets</c>: routes each request to its consumer's record, and rejects malformed
/// requests (<see cref="RequestValidation.Offsets"/>) before they start one.
/// </summary>
public sealed class OffsetsRegion(OffsetsSettings settings, EntityParentSettings parentSettings)
    : EntityParent(new OffsetsMessageExtractor(), parentSettings, settings.Clock)
{
    public static Props Props(OffsetsSettings settings, EntityParentSettings parentSettings) =>
        Akka.Actor.Props.Create(() => new OffsetsRegion(settings, parentSettings));

    protected override Props EntityProps(string entityId) => ConsumerOffsets.Props(entityId, settings);

    protected override TimeSpan? PassivateIdleAfter => settings.IdleTimeout;

    protected override object? Overloaded(object message) => message is IOffsetsCommand command
        ? new OffsetRequestRejected(command.Owner, "offsets restarting; retry later")
        : null;

    protected override void OnNonEntityMessage(object message)
    {
        if (message is IOffsetsCommand invalid)
            Sender.Tell(RequestValidation.Offsets(invalid)!);
        else
            Unhandled(message);
    }

    private sealed class OffsetsMessageExtractor : IEntityMessageExtractor
    {
        public string? EntityId(object message) =>
            message is IOffsetsCommand command && RequestValidation.Offsets(command) is null ? command.Owner : null;

        public object EntityMessage(object message) => message;
    }
}
