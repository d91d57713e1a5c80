using Akka.Actor;
using Liminal.Actors.Entities;

namespace Liminal.Actors.Conversations;

/// <summary>
/// The actor behind <c>LiminalBus.Conversations</c>: routes each request to its conversation by id, starting it
/// (by replay) when needed, and rejects requests whose conversation id is empty or too long.
/// </summary>
public sealed class ConversationRegion(ConversationSettings settings, EntityParentSettings parentSettings)
    : EntityParent(new ConversationMessageExtractor(), parentSettings, settings.Clock)
{
    public static Props Props(ConversationSettings settings, EntityParentSettings parentSettings) =>
        Akka.Actor.Props.Create(() => new ConversationRegion(settings, parentSettings));

    protected override Props EntityProps(string entityId) => Conversation.Props(entityId, settings);

    protected override object? Overloaded(object message) => message is IConversationCommand command
        ? new ConversationRejected(command.ConversationId, string.Empty, ConversationRejections.Overloaded)
        {
            Detail = "conversation restarting; retry later",
        }
        : null;

    protected override void OnNonEntityMessage(object message)
    {
        if (message is IConversationCommand invalid)
            Sender.Tell(new ConversationRejected(invalid.ConversationId ?? string.Empty, string.Empty, ConversationRejections.InvalidConversationId)
            {
                Detail = $"a conversation id must be 1 to {ConversationPolicy.MaxConversationIdLength} characters",
            });
        else
            Unhandled(message);
    }

    private sealed class ConversationMessageExtractor : IEntityMessageExtractor
    {
        public string? EntityId(object message) =>
            message is IConversationCommand command && ConversationPolicy.IsValidConversationId(command.ConversationId)
                ? command.ConversationId
                : null;

        public object EntityMessage(object message) => message;
    }
}
