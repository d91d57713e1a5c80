using Akka.Actor;
using Liminal.Actors.Entities;
using Liminal.Actors.Persistence;

namespace Liminal.Actors.Offsets;

/// <summary>One consumer's (or pipeline's) offsets and processing receipts: PersistenceId <c>offsets-{owner}</c>.</summary>
public sealed class ConsumerOffsets : GroupCommitActor<IOffsetsEvent>
{
    private readonly string _owner;
    private readonly long _snapshotEvery;
    private readonly TimeSpan _idleTimeout;
    private OffsetsState _durable = new();
    private OffsetsState _projected = new();

    public ConsumerOffsets(string owner, long snapshotEvery, TimeSpan idleTimeout)
    {
        _owner = owner;
        _snapshotEvery = snapshotEvery;
        _idleTimeout = idleTimeout;
        PersistenceId = $"offsets-{owner}";
    }

    public static Props Props(string owner, long snapshotEvery, TimeSpan idleTimeout) =>
        Akka.Actor.Props.Create(() => new ConsumerOffsets(owner, snapshotEvery, idleTimeout));

    public override string PersistenceId { get; }

    protected override long SnapshotEvery => _snapshotEvery;

    protected override long SnapshotCost => _durable.Count;

    protected override void RestoreSnapshot(object snapshot) => _durable = OffsetsState.FromSnapshot((OffsetsSnapshot)snapshot);

    protected override void ApplyDurable(IOffsetsEvent @event) => OffsetsState.Apply(_durable, @event);

    protected override void ApplyProjected(IOffsetsEvent @event) => OffsetsState.Apply(_projected, @event);

    protected override object DurableSnapshot() => _durable.ToSnapshot();

    protected override void OnRecovered()
    {
        _projected = _durable.Copy();
        PassivateWhenIdle(_idleTimeout);
    }

    protected override void OnRequest(object message)
    {
        if (message is not IOffsetsCommand command)
        {
            Unhandled(message);
            return;
        }
        var outcome = OffsetsState.Decide(_projected, command);
        Carry(outcome.Events, Sender, outcome.Reply, new OffsetRequestRejected(_owner, "journal write failed; nothing was recorded"));
    }
}

/// <summary>The actor behind <c>LiminalBus.Offsets</c>: routes each request to its consumer's record.</summary>
public sealed class OffsetsRegion(long snapshotEvery, TimeSpan idleTimeout, EntityParentSettings parentSettings, TimeProvider clock)
    : EntityParent(new OffsetsMessageExtractor(), parentSettings, clock)
{
    public static Props Props(long snapshotEvery, TimeSpan idleTimeout, EntityParentSettings parentSettings, TimeProvider clock) =>
        Akka.Actor.Props.Create(() => new OffsetsRegion(snapshotEvery, idleTimeout, parentSettings, clock));

    protected override Props EntityProps(string entityId) => ConsumerOffsets.Props(entityId, snapshotEvery, idleTimeout);

    protected override object? Overloaded(object message) => message is IOffsetsCommand command
        ? new OffsetRequestRejected(command.Owner, "offsets restarting; retry later")
        : null;

    protected override void OnNonEntityMessage(object message)
    {
        if (message is IOffsetsCommand invalid)
            Sender.Tell(new OffsetRequestRejected(invalid.Owner ?? string.Empty,
                $"consumer or pipeline name must be 1 to {OffsetsState.MaxNameLength} characters"));
        else
            Unhandled(message);
    }

    private sealed class OffsetsMessageExtractor : IEntityMessageExtractor
    {
        public string? EntityId(object message) =>
            message is IOffsetsCommand command && OffsetsState.IsValidName(command.Owner) ? command.Owner : null;

        public object EntityMessage(object message) => message;
    }
}
