using Akka.Actor;
using Liminal.Actors.Persistence;

namespace Liminal.Actors.Conversations;

/// <summary>
/// One durable conversation (PersistenceId <c>conversation-{id}</c>): its journal is the conversation's event log.
/// Passivates after <c>idle-timeout</c> without a request and comes back by replay.
/// </summary>
public sealed class Conversation : GroupCommitActor<IConversationEvent>
{
    private readonly string _conversationId;
    private readonly ConversationSettings _settings;
    private ConversationState _durable = new();
    private ConversationState _projected = new();

    public Conversation(string conversationId, ConversationSettings settings)
    {
        _conversationId = conversationId;
        _settings = settings;
        PersistenceId = $"conversation-{conversationId}";
    }

    public static Props Props(string conversationId, ConversationSettings settings) =>
        Akka.Actor.Props.Create(() => new Conversation(conversationId, settings));

    public override string PersistenceId { get; }

    protected override long SnapshotEvery => _settings.SnapshotEvery;

    protected override void RestoreSnapshot(object snapshot) =>
        _durable = ConversationState.FromSnapshot((ConversationStateSnapshot)snapshot);

    protected override void ApplyDurable(IConversationEvent @event) => ConversationState.Apply(_durable, @event);

    protected override void ApplyProjected(IConversationEvent @event) => ConversationState.Apply(_projected, @event);

    protected override object DurableSnapshot() => _durable.ToSnapshot();

    protected override void OnRecovered()
    {
        _projected = _durable.Copy();
        PassivateWhenIdle(_settings.IdleTimeout);
    }

    protected override void OnRequest(object message)
    {
        if (message is not IConversationCommand command)
        {
            Unhandled(message);
            return;
        }
        var now = _settings.Clock.GetUtcNow().ToUnixTimeMilliseconds();
        var outcome = ConversationState.Decide(_projected, _conversationId, command, _settings.Policy, now, ProjectedSequenceNr);
        Carry(outcome.Events, Sender, outcome.Reply,
            new ConversationRejected(_conversationId, ConversationState.MessageIdOf(command), ConversationRejections.PersistFailed)
            {
                Detail = "journal write failed",
            });
    }
}

/// <summary>What every conversation needs from <see cref="LiminalSettings"/>.</summary>
public sealed record ConversationSettings(
    ConversationPolicy Policy,
    TimeSpan IdleTimeout,
    long SnapshotEvery,
    TimeProvider Clock);
