using Akka.Actor;
using Liminal.Actors.Validation;

namespace Liminal.Client;

/// <summary>
/// Stands in the client's actor system in front of one of the host's actors. A request the bus would reject as
/// malformed (<see cref="RequestValidation"/>) is answered here, typed, and never sent: above all one too large for
/// Akka.Remote's frame, which Akka.Remote drops with a log line and no answer (a 10 MB publish was never answered).
/// Everything else is forwarded, so the host answers the caller directly.
/// </summary>
internal sealed class RequestGuard : UntypedActor
{
    private readonly IActorRef _host;
    private readonly int _maxPayloadBytes;

    public RequestGuard(IActorRef host, int maxPayloadBytes)
    {
        _host = host;
        _maxPayloadBytes = maxPayloadBytes;
    }

    public static Props Props(IActorRef host, int maxPayloadBytes) =>
        Akka.Actor.Props.Create(() => new RequestGuard(host, maxPayloadBytes));

    protected override void OnReceive(object message)
    {
        if (RequestValidation.Reject(message, _maxPayloadBytes) is { } rejection)
            Sender.Tell(rejection);
        else
            _host.Forward(message);
    }
}
