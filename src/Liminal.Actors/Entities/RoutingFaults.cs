using Akka.Actor;
using Akka.Event;

namespace Liminal.Actors.Entities;

/// <summary>
/// What an actor that routes (registry, router, region) does when handling a message threw: a restart would drop its
/// state (the channels' subscribers, the entities and what they owe), so it logs the bug, refuses that one request
/// with its typed reply and goes on with its state, as a resumed actor would.
/// </summary>
internal static class RoutingFaults
{
    public static void Refuse(IActorContext context, ILoggingAdapter log, Exception error, object message, Func<object, object?> refusal)
    {
        log.Error(error, "{0} failed on {1}; the request is refused and {0} keeps its state", context.Self.Path, message.GetType().Name);
        try
        {
            if (refusal(message) is { } reply)
                context.Sender.Tell(reply, context.Self);
        }
        catch (Exception refusalError)
        {
            // E.g. an in-process sender whose custom ref throws: it gets nothing, the state stays.
            log.Error(refusalError, "{0} could not refuse {1}", context.Self.Path, message.GetType().Name);
        }
    }
}
