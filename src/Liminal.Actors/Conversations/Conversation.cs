using Akka.Actor;
using Liminal.Actors.Persistence;
using Liminal.Actors.Validation;

namespace Liminal.Actors.Conversations;

/// <summary>
/// One durable conversation (PersistenceId <c>conversation-{id}</c>): its journal is the conversation's event log.
/// Its region passivates it after <c>idle-timeout</c> without a request; it comes back by replay.
/// </summary>
public sealed class Conversation : PersistentEntity<IConversationEvent>
{
    private readonly string _conversationId;
    private readonly ConversationSettings _settings;
    private ConversationState _state = new();

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
        _state = ConversationState.FromSnapshot((ConversationStateSnapshot)snapshot);

    protected override void Apply(IConversationEvent @event) => ConversationState.Apply(_state, @event);

    protected override object Snapshot() => _state.ToSnapshot();

    protected override Conflict ConflictOf(object command) => command switch
    {
        // The whole state, and finishing (it may compact the outputs of other finished messages).
        GetConversationState or RecordProcessingFinished => Conflict.Everything,
        IConversationCommand c => Conflict.On(IConversationCommand.MessageIdOf(c)),
        _ => Conflict.None,
    };

    protected override void Decide(object command, IActorRef sender)
    {
        if (command is not IConversationCommand conversationCommand)
        {
            Unhandled(command);
            return;
        }
        var now = _settings.Clock.GetUtcNow().ToUnixTimeMilliseconds();
        var outcome = ConversationState.Decide(_state, _conversationId, conversationCommand, _settings.Policy, now, LastSequenceNr);
        if (outcome.Events.Count == 0)
            Reply(sender, outcome.Reply is ConversationSnapshot state ? FittingTheWire(state, sender) : outcome.Reply);
        else
            // Other messages' writes may land first: the reply names the sequence number the event really got.
            Persist(outcome.Events, command, sender, sequenceNr => outcome.Reply is EventRecorded recorded
                ? recorded with { SequenceNr = sequenceNr }
                : outcome.Reply);
    }

    /// <summary>
    /// The state, or for a remote caller whose frame cannot carry it a typed refusal: Akka.Remote drops a message over
    /// its frame with a log line and answers nobody. What a resume needs is read with <see cref="GetStepOutput"/>.
    /// </summary>
    private object FittingTheWire(ConversationSnapshot state, IActorRef caller)
    {
        if (caller.Path.Address.HasLocalScope)
            return state;
        var bytes = Context.System.Serialization.FindSerializerFor(state).ToBinary(state).Length;
        return WireFrame.Fits(bytes, _settings.Policy.MaxOutputBytes)
            ? state
            : new ConversationRejected(_conversationId, string.Empty, ConversationRejections.StateTooLarge)
            {
                Detail = $"the state is {bytes} bytes on the wire, more than Akka.Remote's frame carries; read step outputs with GetStepOutput",
            };
    }

    protected override object FailureFor(object command, string detail) =>
        new ConversationRejected(_conversationId, command is IConversationCommand c ? IConversationCommand.MessageIdOf(c) : string.Empty,
            ConversationRejections.PersistFailed) { Detail = detail };
}

/// <summary>What every conversation needs from <see cref="LiminalSettings"/>.</summary>
public sealed record ConversationSettings(
    ConversationPolicy Policy,
    TimeSpan IdleTimeout,
    long SnapshotEvery,
    TimeProvider Clock);
