using Akka.Actor;
using Liminal.Actors.Entities;
using Liminal.Actors.Validation;

namespace Liminal.Actors.Conversations;

/// <summary>
/// The actor behind <c>LiminalBus.Conversations</c>: routes each request to its conversation by id, starting it
/// (by replay) when needed, and rejects malformed requests (<see cref="RequestValidation.Conversation"/>) before they
/// start one.
/// </summary>
public sealed class ConversationRegion(ConversationSettings settings, EntityParentSettings parentSettings)
    : EntityParent(new ConversationMessageExtractor(settings.Policy.MaxOutputBytes), parentSettings, settings.Clock)
{
    public static Props Props(ConversationSettings settings, EntityParentSettings parentSettings) =>
        Akka.Actor.Props.Create(() => new ConversationRegion(settings, parentSettings));

    protected override Props EntityProps(string entityId) => Conversation.Props(entityId, settings);

    protected override TimeSpan? PassivateIdleAfter => settings.IdleTimeout;

    protected override object? Overloaded(object message) => message is IConversationCommand command
        ? new ConversationRejected(command.ConversationId, string.Empty, ConversationRejections.Overloaded)
        {
            Detail = "conversation restarting; retry later",
        }
        : null;

    protected override void OnNonEntityMessage(object message)
    {
        if (message is IConversationCommand invalid)
            Sender.Tell(RequestValidation.Conversation(invalid, settings.Policy.MaxOutputBytes)!);
        else
            Unhandled(message);
    }

    private sealed class ConversationMessageExtractor(int maxOutputBytes) : IEntityMessageExtractor
    {
        public string? EntityId(object message) =>
            message is IConversationCommand command && RequestValidation.Conversation(command, maxOutputBytes) is null
                ? command.ConversationId
                : null;

        public object EntityMessage(object message) => message;
    }
}
